"""ETL throughput through the queues: `consumer-etl` mapping days of documents, per pool and concurrency.

Generates ``--big-day`` documents on one day and ``--days`` more days of ``--per-day``
documents in a scratch PostgreSQL database (about 150 words each, with keyword and alias
mentions), then for each worker configuration starts `consumer-etl` by its entry point
and sends ``etl.map_keywords``: once for the big day (the "ETL day of 100,000
documents"), then once for each of the other days together, and waits for the results.

    .venv/bin/python benchmarks/etl_bench.py
    .venv/bin/python benchmarks/etl_bench.py --configs prefork:2 threads:2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import procs  # noqa: E402
from celery_tasks.runtime.factory import create_app  # noqa: E402
from celery_tasks.settings import load_settings  # noqa: E402
from celery_tasks.tasks.etl import MapKeywords  # noqa: E402
from celery_tasks_devtools.documents import insert_documents, vocabulary  # noqa: E402
from consumer_etl.keywords import load_keywords  # noqa: E402
from consumer_etl.settings import DEFAULT_KEYWORDS_FILE  # noqa: E402

from broker_admin import ManagementClient  # noqa: E402
from task_storage import create_schema, make_engine, scratch_database  # noqa: E402

BIN = Path(sys.executable).parent
BIG_DAY = dt.date(2026, 6, 30)
DEFAULT_CONFIGS = ("prefork:1", "prefork:2", "threads:2", "solo:1")


def generate(url: str, big_day: int, days: int, per_day: int, seed: int = 7) -> list[dt.date]:
    """Store the documents; return the small days."""
    rng = random.Random(seed)
    mentions = [text for spec in load_keywords(DEFAULT_KEYWORDS_FILE) for text in (spec.keyword, *spec.aliases)]
    mentions += [text.upper() for text in mentions]
    engine = make_engine(url)
    create_schema(engine)
    small_days = [BIG_DAY - dt.timedelta(days=n) for n in range(1, days + 1)]
    plan = [(BIG_DAY, big_day), *((day, per_day) for day in small_days)]
    insert_documents(engine, plan, rng=rng, words=vocabulary(rng), mentions=mentions)
    engine.dispose()
    return small_days


def run_config(
    pool: str, concurrency: int, broker_url: str, database_url: str, small_days: list[dt.date], log_dir: Path
) -> dict[str, Any]:
    """Map the big day alone, then the small days together, on one worker configuration."""
    env = {"CELERY_TASKS_BROKER_URL": broker_url, "CELERY_TASKS_DATABASE_URL": database_url}
    argv = [str(BIN / "consumer-etl"), f"--pool={pool}", f"--concurrency={concurrency}"]
    worker = procs.Worker(argv, env, log_dir / f"etl-{pool}-{concurrency}.log")
    vhost = broker_url.rsplit("/", 1)[1]
    try:
        worker.wait_for_consumers(vhost, MapKeywords.name, timeout=180)
        app = create_app([MapKeywords], load_settings(broker_url=broker_url))
        task = app.tasks[MapKeywords.name]
        cpu_before = procs.tree_cpu_seconds(worker.pid)
        started = time.perf_counter()
        big = task.delay(day=BIG_DAY).get(timeout=1800)
        big_seconds = time.perf_counter() - started
        started = time.perf_counter()
        mapped = [result.get(timeout=1800) for result in task.delay_many([{"day": day} for day in small_days])]
        days_seconds = time.perf_counter() - started
        documents = sum(result.documents for result in mapped)
        return {
            "pool": pool,
            "concurrency": concurrency,
            "big_day_documents": big.documents,
            "big_day_seconds": round(big_seconds, 2),
            "big_day_documents_per_s": round(big.documents / big_seconds),
            "days": len(mapped),
            "days_documents": documents,
            "days_seconds": round(days_seconds, 2),
            "days_documents_per_s": round(documents / days_seconds),
            "worker_cpu_s": round(procs.tree_cpu_seconds(worker.pid) - cpu_before, 1),
            "worker_peak_rss_mib": round(procs.tree_peak_rss_mib(worker.pid)),
        }
    finally:
        worker.stop()


def main() -> None:
    """Generate, measure every configuration, print a table, write benchmarks/results-etl.json."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big-day", type=int, default=100_000, help="documents on the big day")
    parser.add_argument("--days", type=int, default=4, help="other days, mapped together")
    parser.add_argument("--per-day", type=int, default=25_000)
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS), help="pool:concurrency ...")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--output", default=str(HERE / "results-etl.json"))
    args = parser.parse_args()

    management = ManagementClient("http://127.0.0.1:15672", "guest", "guest")
    vhost = f"ct-bench-etl-{uuid.uuid4().hex[:8]}"
    management.create_vhost(vhost)
    management.set_permissions(vhost, "guest")
    results = []
    started = time.monotonic()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="ct-etl-") as log_dir,
            scratch_database(args.postgres_url, "etlbench") as database_url,
        ):
            generated = time.monotonic()
            small_days = generate(database_url, args.big_day, args.days, args.per_day)
            print(
                f"generated {args.big_day + args.days * args.per_day} documents in "
                f"{time.monotonic() - generated:.0f} s",
                flush=True,
            )
            broker_url = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
            for config in args.configs:
                pool, _, concurrency = config.partition(":")
                figures = run_config(pool, int(concurrency), broker_url, database_url, small_days, Path(log_dir))
                print(json.dumps(figures), flush=True)
                results.append(figures)
    finally:
        management.delete_vhost(vhost)
    report = {
        "command": "python benchmarks/etl_bench.py " + " ".join(sys.argv[1:]),
        "database": "postgresql",
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "seconds": round(time.monotonic() - started, 1),
        "results": results,
    }
    print()
    print("| pool | concurrency | 100k-document day, s | docs/s | 4 days together, docs/s | worker peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['pool']} | {r['concurrency']} | {r['big_day_seconds']:.1f} | {r['big_day_documents_per_s']} "
            f"| {r['days_documents_per_s']} | {r['worker_peak_rss_mib']} |"
        )
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.output} in {report['seconds']} s")


if __name__ == "__main__":
    main()
