"""Round trips through each result store, side by side: rpc:// (the default), Redis and PostgreSQL.

Run by ``make bench`` after bench.py (or ``.venv/bin/python benchmarks/stores_bench.py``). One vhost,
one ``consumer-diagnostics --queues=diagnostics.echo`` worker per store (production defaults, only the
result backend differs), sequential ``Echo().delay(...).get()`` round trips, the stores measured in
turn in every repetition so that machine load hits them alike. Prints p50/p99 and the ratio to rpc://,
and writes ``benchmarks/results-stores.json``.
"""

# ruff: noqa: PLC0415 - the project is imported after the environment is set

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import procs  # noqa: E402
from bench import BIN, percentile  # noqa: E402

RESULTS = HERE / "results-stores.json"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
STORES = {
    "rpc": "rpc://",
    "redis": "redis://127.0.0.1:6379/14",
    "postgres": "db+postgresql+psycopg://postgres@127.0.0.1:5432/{database}",
    "pg-unpooled": "db+postgresql+psycopg://postgres@127.0.0.1:5432/{database}",
    "pg-celery": "db+postgresql+psycopg://postgres@127.0.0.1:5432/{database}",
}
#: PostgreSQL as Celery's database backend does it ("pg-celery": a new connection per operation, .get() reading
#: every 0.5 s: the figures before), with the short .get() poll only ("pg-unpooled"), next to the defaults
#: ("postgres": pooled connections, reads after 5 ms doubling up to 0.05 s). Each row's worker gets its settings.
OVERRIDES: dict[str, dict[str, Any]] = {
    "pg-unpooled": {"result_pool_connections": False},
    "pg-celery": {"result_pool_connections": False},
}
#: Options of .get(): an explicit interval is Celery's own fixed polling.
GET_OPTIONS: dict[str, dict[str, Any]] = {"pg-celery": {"interval": 0.5}}


def round_trips(task: Any, count: int, **options: Any) -> list[float]:
    """Seconds of each of ``count`` sequential delay().get()."""
    samples = []
    for number in range(count):
        started = time.perf_counter()
        task.delay(text="hello", number=number).get(timeout=60, **options)
        samples.append(time.perf_counter() - started)
    return samples


#: Stores whose bulk submit (delay_many) is measured, no worker running.
BULK_STORES = ("rpc", "redis", "postgres")


def bulk_submit(task: Any, count: int, reps: int) -> dict[str, float]:
    """Tasks/s of delay_many (publish + batched submitted records) next to the publish alone and one record per task."""
    from celery_tasks.runtime import bulk, stores

    app = task.app
    calls = [{"text": "hello", "number": n} for n in range(count)]

    def one_by_one() -> None:
        for handle in bulk.submit_many(task, calls):
            stores.record_submitted(app, handle.id, task.name)

    ways = {"publish_only": lambda: bulk.submit_many(task, calls), "delay_many": lambda: task.delay_many(calls)}
    if stores.is_shared(app.settings.result_backend):
        ways["records_one_by_one"] = one_by_one
    rates: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(reps):
        for name, send in ways.items():  # in turn, so that machine load hits them alike
            started = time.perf_counter()
            send()
            rates[name].append(count / (time.perf_counter() - started))
            with app.connection_for_write() as connection:
                connection.default_channel.queue_purge(task.name)
    figures = {f"{name}_per_s": statistics.median(values) for name, values in rates.items()}
    figures["delay_many_vs_publish_only"] = figures["delay_many_per_s"] / figures["publish_only_per_s"]
    return figures


def main() -> None:
    """Measure every store, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rtt", type=int, default=500, help="round trips per store and repetition")
    parser.add_argument("--reps", type=int, default=3, help="repetitions; figures are medians")
    parser.add_argument("--bulk", type=int, default=2000, help="tasks per bulk submit (delay_many); 0 skips it")
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args()

    import psycopg
    from celery_tasks.runtime.factory import create_app
    from celery_tasks.settings import load_settings
    from celery_tasks.tasks.diagnostics import Echo
    from celery_tasks_devtools.testing import settings_env

    from broker_admin import ManagementClient

    management = ManagementClient("http://127.0.0.1:15672", "guest", "guest")
    vhost = f"ct-bench-stores-{uuid.uuid4().hex[:8]}"
    database = f"ct_bench_{uuid.uuid4().hex[:8]}"
    management.create_vhost(vhost)
    management.set_permissions(vhost, "guest")
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f"create database {database}")
    workers: list[procs.Worker] = []
    apps: list[Any] = []
    samples: dict[str, list[list[float]]] = {name: [] for name in STORES}
    log_dir = Path(tempfile.mkdtemp(prefix="ct-bench-stores-"))
    try:
        tasks = {}
        for name, url in STORES.items():
            # One queue per contract: the stores take turns, each with a worker configured for it.
            overrides = OVERRIDES.get(name, {})
            settings = load_settings(result_backend=url.format(database=database), **overrides).with_vhost(vhost)
            app = create_app([Echo], settings)
            apps.append(app)
            tasks[name] = (app.tasks[Echo.name], settings)
        for _ in range(args.reps):
            for name, (task, settings) in tasks.items():
                argv = [str(BIN / "consumer-diagnostics"), f"--queues={Echo.name}"]
                worker = procs.Worker(argv, settings_env(settings), log_dir / f"worker-{name}.log")
                workers.append(worker)
                worker.wait_for_consumers(vhost, Echo.name)
                round_trips(task, 20)  # warm-up: connections, tables, reply queue
                samples[name].append(round_trips(task, args.rtt, **GET_OPTIONS.get(name, {})))
                worker.stop()
        bulk = {name: bulk_submit(tasks[name][0], args.bulk, args.reps) for name in BULK_STORES if args.bulk}
    finally:
        for worker in workers:
            worker.stop()
        for app in apps:
            app.close()
        management.delete_vhost(vhost)
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(f"drop database if exists {database} with (force)")

    figures = {
        name: {
            "rtt_p50_ms": statistics.median(percentile(rep, 50) for rep in reps) * 1000,
            "rtt_p99_ms": statistics.median(percentile(rep, 99) for rep in reps) * 1000,
        }
        for name, reps in samples.items()
    }
    for name in STORES:
        figures[name]["p50_vs_rpc"] = figures[name]["rtt_p50_ms"] / figures["rpc"]["rtt_p50_ms"]
        figures[name]["p99_vs_rpc"] = figures[name]["rtt_p99_ms"] / figures["rpc"]["rtt_p99_ms"]
    print(f"delay().get() round trips, {args.rtt} x {args.reps} per store (median of repetitions)")
    print(f"{'store':<14}{'p50 ms':>10}{'p99 ms':>10}{'p50/rpc':>10}{'p99/rpc':>10}")
    for name, row in figures.items():
        print(
            f"{name:<14}{row['rtt_p50_ms']:>10.2f}{row['rtt_p99_ms']:>10.2f}"
            f"{row['p50_vs_rpc']:>10.2f}{row['p99_vs_rpc']:>10.2f}"
        )
    if bulk:
        print(f"bulk submit of {args.bulk} tasks, no worker (tasks/s, median of repetitions)")
        for name, row in bulk.items():
            print(f"{name:<14}" + "  ".join(f"{key} {value:,.2f}" for key, value in row.items()))
    report = {"rtt": args.rtt, "reps": args.reps, "bulk": args.bulk, "stores": figures, "bulk_submit": bulk}
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
