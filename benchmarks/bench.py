"""Side-by-side benchmark: raw py-amqp (the ceiling), plain Celery (the baseline) and this project.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench.py``). It creates its
own RabbitMQ vhost, measures the three systems one after another, each from a fresh
client process (so that each producer's peak memory is its own), prints a table and
writes ``benchmarks/results.json``. Every figure is the median of ``--reps`` runs.

Longer than 300 lines on purpose: the three systems are measured by the same script, phase by phase, so the
figures in one table come from one run and one code path; each phase is a function of its own.
"""

# ruff: noqa: PLC0415 - each client process imports only what its system needs, so its peak memory is its own

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import procs  # noqa: E402
import raw_amqp  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS = HERE / "results.json"
TEXT = "hello"


# ---------------------------------------------------------------- statistics


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank) of samples."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def rtt_summary(reps: list[list[float]]) -> dict[str, float]:
    """Median over repetitions of each repetition's p50, p90 and p99, in milliseconds."""
    return {
        "rtt_p50_ms": statistics.median(percentile(r, 50) for r in reps) * 1000,
        "rtt_p90_ms": statistics.median(percentile(r, 90) for r in reps) * 1000,
        "rtt_p99_ms": statistics.median(percentile(r, 99) for r in reps) * 1000,
        "rtt_max_ms": statistics.median(max(r) for r in reps) * 1000,
    }


def med(values: Sequence[float]) -> float:
    """Median of a list of figures."""
    return float(statistics.median(values))


def timed(function: Callable[[], Any]) -> float:
    """Seconds taken by one call."""
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


# ---------------------------------------------------------------- raw py-amqp


def client_raw(vhost: str, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    """The ceiling: confirmed batched publishing, acked consuming, request-reply."""
    queue = "raw.bulk"
    out: dict[str, Any] = {}
    publish, consume = [], []
    for _ in range(args.reps):
        publish.append(raw_amqp.publish_batched(vhost, queue, args.tasks, args.batch))
        consume.append(raw_amqp.consume_acked(vhost, queue, args.tasks))
    out["submit_per_s"] = med(publish)
    out["consume_acked_per_s"] = med(consume)
    out["publish_each_confirm_per_s"] = raw_amqp.publish_each_confirmed(vhost, queue, min(args.tasks, 1000))
    out["publish_no_confirm_per_s"] = raw_amqp.publish_unconfirmed(vhost, queue, args.tasks)
    raw_amqp.purge(vhost, queue)

    server = procs.Worker([sys.executable, str(HERE / "raw_amqp.py"), vhost, "raw.rpc"], {}, log_dir / "raw-server.log")
    try:
        server.wait_for_consumers(vhost, "raw.rpc")
        client = raw_amqp.RpcClient(vhost, "raw.rpc")
        out.update(rtt_summary([raw_amqp.round_trips(client, args.rtt) for _ in range(args.reps)]))
        e2e = []
        server_before, own_before = procs.cpu_seconds(server.pid), time.process_time()
        broker = procs.broker_pid()
        broker_before = procs.cpu_seconds(broker) if broker else 0.0
        for _ in range(args.reps):
            e2e.append(args.tasks / timed(lambda: raw_e2e(client, args.tasks, args.batch)))
        done = args.reps * args.tasks
        out["worker_cpu_us_per_task"] = (procs.cpu_seconds(server.pid) - server_before) / done * 1e6
        out["producer_cpu_us_per_task"] = (time.process_time() - own_before) / done * 1e6
        if broker:
            out["broker_cpu_us_per_task"] = (procs.cpu_seconds(broker) - broker_before) / done * 1e6
        out["e2e_per_s"] = med(e2e)
        client.close()
        bare = raw_amqp.BareRpcClient(vhost, "raw.rpc.bare")
        out["bare_" + "rtt_p50_ms"] = rtt_summary([raw_amqp.round_trips(bare, args.rtt)])["rtt_p50_ms"]
        bare.close()
        out["worker_peak_rss_mib"] = procs.tree_peak_rss_mib(server.pid)
    finally:
        server.stop()
    return out


def raw_e2e(client: raw_amqp.RpcClient, count: int, batch: int) -> None:
    """Publish ``count`` requests with batched confirms on a second channel, then wait for every reply."""
    confirmer = raw_amqp.BatchConfirmer(client.connection, client.connection.channel())
    ids = []
    for index in range(count):
        correlation_id = uuid.uuid4().hex
        ids.append(correlation_id)
        message = raw_amqp.amqp.Message(
            raw_amqp.BODY, delivery_mode=2, correlation_id=correlation_id, reply_to=client.reply_queue
        )
        confirmer.publish(message, client.queue)
        if (index + 1) % batch == 0:
            confirmer.wait()
    confirmer.wait()
    for correlation_id in ids:
        while correlation_id not in client.replies:
            client.connection.drain_events(timeout=30)
        client.replies.pop(correlation_id)
    confirmer.channel.close()


# ---------------------------------------------------------------- Celery and this project


class System:
    """What differs between plain Celery and this project: how to build the app, call, and start a worker."""

    name = ""
    queue = ""

    def __init__(self, vhost: str) -> None:
        self.vhost = vhost
        self.broker_url = f"amqp://guest:guest@{procs.AMQP_HOST}/{vhost}"

    def send(self) -> Any:
        """Submit one task."""
        raise NotImplementedError

    def send_many(self, count: int) -> list[Any]:
        """Submit many tasks as fast as the system allows."""
        return [self.send() for _ in range(count)]

    def get(self, result: Any) -> Any:
        """Wait for one result."""
        return result.get(timeout=60)

    def worker(self, log_dir: Path) -> procs.Worker:
        """Start the system's worker."""
        raise NotImplementedError

    def purge(self) -> None:
        """Empty the task queue."""
        connection = raw_amqp.connect(self.vhost)
        connection.channel().queue_purge(self.queue)
        connection.close()

    def extra(self, args: argparse.Namespace, out: dict[str, Any]) -> None:
        """System-specific figures."""


class PlainCelery(System):
    """Celery with defaults, rpc:// results, a prefork worker."""

    name = "celery"
    queue = "celery"

    def __init__(self, vhost: str) -> None:
        super().__init__(vhost)
        os.environ["BENCH_BROKER_URL"] = self.broker_url
        import plain_celery

        self.task = plain_celery.echo

    def send(self) -> Any:
        """echo.delay()."""
        return self.task.delay(TEXT, 1)

    def worker(self, log_dir: Path) -> procs.Worker:
        """`celery -A plain_celery worker --pool=prefork`."""
        argv = [str(BIN / "celery"), "-A", "plain_celery", "worker", "--pool=prefork", "--loglevel=WARNING"]
        return procs.Worker(argv, {"BENCH_BROKER_URL": self.broker_url}, log_dir / "celery-worker.log", cwd=str(HERE))


class Project(System):
    """This project with its production defaults: diagnostics.echo served by `consumer-diagnostics`."""

    name = "ours"
    queue = "diagnostics.echo"

    def __init__(self, vhost: str) -> None:
        super().__init__(vhost)
        from celery_tasks.runtime import tracing
        from celery_tasks.runtime.factory import create_app
        from celery_tasks.settings import load_settings
        from celery_tasks.tasks.diagnostics import Echo

        tracing.setup("bench-client")  # only when OTEL_* variables ask for it (the tracing rows)
        self.settings = load_settings(broker_url=self.broker_url, management_url=procs.MANAGEMENT_URL)
        self.app = create_app([Echo], self.settings)
        self.task = self.app.tasks[Echo.name]

    def send(self) -> Any:
        """Echo().delay()."""
        return self.task.delay(text=TEXT, number=1)

    def send_many(self, count: int) -> list[Any]:
        """The bulk API (batched confirms) when the project has one."""
        bulk = getattr(self.task, "delay_many", None)
        if bulk is None:
            return super().send_many(count)
        return list(bulk([{"text": TEXT, "number": 1}] * count))

    def worker(self, log_dir: Path, *, all_queues: bool = False) -> procs.Worker:
        """`consumer-diagnostics --queues=diagnostics.echo`, configured through the environment like in production.

        Only the broker URL is set: every other setting is the production default, and the
        pool and prefetch follow from the served contract's kind of work (Echo is "instant").
        """
        env = {
            f"CELERY_TASKS_{field.upper()}": str(value)
            for field, value in self.settings.model_dump(include=self.settings.model_fields_set).items()
        }
        env.update(json.loads(os.environ.get("BENCH_OURS_ENV", "{}")))
        argv = [str(BIN / "consumer-diagnostics")] + ([] if all_queues else [f"--queues={self.queue}"])
        argv += json.loads(os.environ.get("BENCH_OURS_ARGS", "[]"))
        return procs.Worker(argv, env, log_dir / "diagnostics-worker.log")

    def extra(self, args: argparse.Namespace, out: dict[str, Any]) -> None:
        """Validation cost per task (producer, worker and caller side), and the one-by-one submit rate."""
        out["validation_us_per_task"] = validation_cost_us(self.task, args.tasks)
        if hasattr(self.task, "delay_many"):
            count = min(args.tasks, 2000)
            out["submit_one_by_one_per_s"] = count / timed(lambda: [self.send() for _ in range(count)])
            self.purge()


def validation_cost_us(task: Any, count: int) -> dict[str, float]:
    """Microseconds per task spent validating: arguments at the producer and worker, results at worker and caller."""
    from celery_tasks.tasks.diagnostics import EchoResult

    kwargs = {"text": TEXT, "number": 1}
    produced = timed(lambda: [_produce_side(task, kwargs) for _ in range(count)])
    result = EchoResult(text=TEXT, number=1, worker="w")
    worker = timed(lambda: [_worker_side(task, kwargs, result) for _ in range(count)])
    wire = result.model_dump(mode="json")
    caller = timed(lambda: [task.parse_result(wire) for _ in range(count)])
    per = 1e6 / count
    return {
        "producer": produced * per,
        "worker": worker * per,
        "caller": caller * per,
        "total": (produced + worker + caller) * per,
    }


def _produce_side(task: Any, kwargs: dict[str, Any]) -> None:
    task.payload_json(task.parse_arguments((), kwargs))  # validation and the one payload size check


def _worker_side(task: Any, kwargs: dict[str, Any], result: Any) -> None:
    task.parse_arguments((), kwargs, lenient=True)
    task.parse_result(result).model_dump(mode="json")


def client_system(system: System, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    """Submit rate with no worker, then end-to-end throughput and round trips with the worker running."""
    out: dict[str, Any] = {}
    submit = []
    for _ in range(args.reps):
        submit.append(args.tasks / timed(lambda: system.send_many(args.tasks)))
        system.purge()
    out["submit_per_s"] = med(submit)
    lean = os.environ.get("BENCH_LEAN") == "1"  # the tracing off/on pair: e2e and round trips only
    if not lean:
        system.extra(args, out)

    worker = system.worker(log_dir)
    try:
        worker.wait_for_consumers(system.vhost, system.queue)
        for _ in range(20):
            system.get(system.send())
        e2e, submit_phase = [], []
        cpu_before = procs.tree_cpu_seconds(worker.pid)
        own_before = time.process_time()
        broker = procs.broker_pid()
        broker_before = procs.cpu_seconds(broker) if broker else 0.0
        for _ in range(args.reps):
            started = time.perf_counter()
            results = system.send_many(args.tasks)
            submit_phase.append(time.perf_counter() - started)
            for result in results:
                system.get(result)
            e2e.append(args.tasks / (time.perf_counter() - started))
        done = args.reps * args.tasks
        out["worker_cpu_us_per_task"] = (procs.tree_cpu_seconds(worker.pid) - cpu_before) / done * 1e6
        out["producer_cpu_us_per_task"] = (time.process_time() - own_before) / done * 1e6
        if broker:  # the shared node also serves other users: an upper bound
            out["broker_cpu_us_per_task"] = (procs.cpu_seconds(broker) - broker_before) / done * 1e6
        out["e2e_per_s"] = med(e2e)
        out["e2e_submit_phase_per_s"] = args.tasks / med(submit_phase)
        rtts = []
        for _ in range(args.reps):
            samples = []
            for _ in range(args.rtt):
                started = time.perf_counter()
                system.get(system.send())
                samples.append(time.perf_counter() - started)
            rtts.append(samples)
        out.update(rtt_summary(rtts))
        out["worker_peak_rss_mib"] = procs.tree_peak_rss_mib(worker.pid)
        out["worker_processes"] = len(procs.tree(worker.pid))
    finally:
        worker.stop()
    if isinstance(system, Project) and not lean:
        out["all_queues_worker"] = all_queues_figures(system, args, log_dir)
    return out


def all_queues_figures(system: Project, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    """For comparison: one run with `consumer-diagnostics` serving all its queues (the prefork profile)."""
    worker = system.worker(log_dir, all_queues=True)
    try:
        worker.wait_for_consumers(system.vhost, system.queue)
        for _ in range(20):
            system.get(system.send())
        cpu_before = procs.tree_cpu_seconds(worker.pid)
        started = time.perf_counter()
        for result in system.send_many(args.tasks):
            system.get(result)
        e2e = args.tasks / (time.perf_counter() - started)
        cpu = (procs.tree_cpu_seconds(worker.pid) - cpu_before) / args.tasks * 1e6
        samples = []
        for _ in range(args.rtt):
            started = time.perf_counter()
            system.get(system.send())
            samples.append(time.perf_counter() - started)
        return {
            "e2e_per_s": e2e,
            "worker_cpu_us_per_task": cpu,
            **rtt_summary([samples]),
            "worker_peak_rss_mib": procs.tree_peak_rss_mib(worker.pid),
        }
    finally:
        worker.stop()


# ---------------------------------------------------------------- orchestration


def run_client(
    system: str, vhost: str, args: argparse.Namespace, log_dir: Path, extra_env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Measure one system from a fresh process and return its figures."""
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--client",
        system,
        "--vhost",
        vhost,
        "--tasks",
        str(args.tasks),
        "--reps",
        str(args.reps),
        "--rtt",
        str(args.rtt),
        "--batch",
        str(args.batch),
        "--log-dir",
        str(log_dir),
    ]
    if args.profile:
        argv[1:1] = ["-m", "cProfile", "-o", f"{args.profile}.{system}.prof"]
    env = {
        **os.environ,
        "BENCH_OURS_ENV": json.dumps(dict(args.ours_env)),
        "BENCH_OURS_ARGS": json.dumps(args.ours_arg),
        **(extra_env or {}),
    }
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{system} client failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["seconds"] = round(time.monotonic() - started, 1)
    return figures


class TraceSink:
    """An OTLP/HTTP endpoint on loopback that accepts spans and drops them: the cost measured is the services' own."""

    def __init__(self) -> None:
        sink = self
        self.requests = 0
        self.bytes = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                sink.bytes += len(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                sink.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def env(self) -> dict[str, str]:
        """Environment that switches tracing on, exporting here."""
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{self.server.server_address[1]}"}

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def tracing_pair(vhost: str, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    """Ours measured with tracing off, then on (spans exported to a local sink), in the same run."""
    lean = {"BENCH_LEAN": "1"}
    off = run_client("ours", vhost, args, log_dir, {**lean, "OTEL_SDK_DISABLED": "true"})
    sink = TraceSink()
    try:
        on = run_client("ours", vhost, args, log_dir, {**lean, **sink.env()})
    finally:
        sink.close()
    return {
        "off": off,
        "on": on,
        "exported_requests": sink.requests,
        "exported_bytes": sink.bytes,
        "e2e_on_vs_off": ratio(on["e2e_per_s"], off["e2e_per_s"]),
        "rtt_p50_on_vs_off": ratio(on["rtt_p50_ms"], off["rtt_p50_ms"]),
        "rtt_p99_on_vs_off": ratio(on["rtt_p99_ms"], off["rtt_p99_ms"]),
    }


TRACING_ROWS = (
    ("end-to-end, tasks/s", "e2e_per_s", "{:,.0f}"),
    ("bulk submit, tasks/s", "submit_per_s", "{:,.0f}"),
    ("round trip p50, ms", "rtt_p50_ms", "{:.2f}"),
    ("round trip p99, ms", "rtt_p99_ms", "{:.2f}"),
    ("worker CPU per task, us", "worker_cpu_us_per_task", "{:.0f}"),
    ("producer CPU per task, us", "producer_cpu_us_per_task", "{:.0f}"),
)


def tracing_table(pair: dict[str, Any]) -> str:
    """A markdown table of this project with tracing off and on."""
    lines = ["| figure | tracing off | tracing on | on / off |", "|---|---:|---:|---:|"]
    for label, key, fmt in TRACING_ROWS:
        off, on = pair["off"].get(key), pair["on"].get(key)
        if isinstance(off, int | float) and isinstance(on, int | float):
            lines.append(f"| {label} | {fmt.format(off)} | {fmt.format(on)} | {ratio(on, off):.2f}x |")
    return "\n".join(lines)


def client_main(args: argparse.Namespace) -> None:
    """Entry of a client process: print one JSON line of figures."""
    log_dir = Path(args.log_dir)
    if args.client == "raw":
        out = client_raw(args.vhost, args, log_dir)
    else:
        system: System = PlainCelery(args.vhost) if args.client == "celery" else Project(args.vhost)
        out = client_system(system, args, log_dir)
    out["producer_peak_rss_mib"] = procs.own_peak_rss_mib()
    print(json.dumps(out))


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import amqp
    import celery
    import kombu

    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "os": platform.platform(),
        "celery": celery.__version__,
        "kombu": kombu.__version__,
        "py_amqp": amqp.__version__,
        "load_average_at_start": [round(x, 2) for x in load],
    }


def ratio(numerator: float, denominator: float) -> float:
    """A rounded ratio."""
    return round(numerator / denominator, 3) if denominator else float("nan")


def summarize(raw: dict[str, Any], plain: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """The headline ratios and whether each target is met."""
    validation_us = ours["validation_us_per_task"]["total"]
    headline = {
        "e2e_vs_celery": ratio(ours["e2e_per_s"], plain["e2e_per_s"]),
        "rtt_p50_vs_raw": ratio(ours["rtt_p50_ms"], raw["rtt_p50_ms"]),
        "submit_vs_raw": ratio(ours["submit_per_s"], raw["submit_per_s"]),
        "validation_share": round(validation_us / (1e6 / ours["e2e_per_s"]), 4),
        "rtt_p99_over_p50": ratio(ours["rtt_p99_ms"], ours["rtt_p50_ms"]),
        "e2e_vs_raw": ratio(ours["e2e_per_s"], raw["e2e_per_s"]),
        "rtt_p50_vs_celery": ratio(ours["rtt_p50_ms"], plain["rtt_p50_ms"]),
        "rtt_p50_vs_raw_bare": ratio(ours["rtt_p50_ms"], raw["bare_rtt_p50_ms"]),
        "submit_vs_celery": ratio(ours["submit_per_s"], plain["submit_per_s"]),
    }
    headline["targets"] = {
        "e2e_vs_celery >= 3": headline["e2e_vs_celery"] >= 3,
        "rtt_p50_vs_raw <= 1.5": headline["rtt_p50_vs_raw"] <= 1.5,
        "rtt_p99 <= 5 x p50": headline["rtt_p99_over_p50"] <= 5,
        "submit_vs_raw >= 0.4": headline["submit_vs_raw"] >= 0.4,
        "validation_share <= 0.05": headline["validation_share"] <= 0.05,
    }
    return headline


ROWS = (
    ("end-to-end, tasks/s (submit 5,000 + collect all)", "e2e_per_s", "{:,.0f}", "higher"),
    ("bulk submit, tasks/s (no worker running)", "submit_per_s", "{:,.0f}", "higher"),
    ("round trip p50, ms (sequential delay().get())", "rtt_p50_ms", "{:.2f}", "lower"),
    ("round trip p99, ms", "rtt_p99_ms", "{:.2f}", "lower"),
    ("producer peak RSS, MiB", "producer_peak_rss_mib", "{:.0f}", "lower"),
    ("worker peak RSS, MiB (all processes)", "worker_peak_rss_mib", "{:.0f}", "lower"),
    ("worker CPU per task, us", "worker_cpu_us_per_task", "{:.0f}", "lower"),
    ("producer CPU per task, us", "producer_cpu_us_per_task", "{:.0f}", "lower"),
    ("broker CPU per task, us (upper bound)", "broker_cpu_us_per_task", "{:.0f}", "lower"),
)


def table(raw: dict[str, Any], plain: dict[str, Any], ours: dict[str, Any]) -> str:
    """A markdown table of the three systems with ours-over-baseline ratios."""
    lines = [
        "| figure | raw py-amqp | plain Celery | this project | ours / Celery | ours / raw |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, key, fmt, _ in ROWS:
        cells = []
        for figures in (raw, plain, ours):
            value = figures.get(key)
            cells.append(fmt.format(value) if isinstance(value, int | float) else "-")
        ours_value = ours.get(key)
        vs_celery = ratio(ours_value, plain[key]) if key in plain and ours_value else None
        vs_raw = ratio(ours_value, raw[key]) if key in raw and ours_value else None
        cells.append(f"{vs_celery:.2f}x" if vs_celery else "-")
        cells.append(f"{vs_raw:.2f}x" if vs_raw else "-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def broker_info(management: Any) -> dict[str, Any]:
    """The broker the figures were measured on: RabbitMQ and Erlang versions, AMQP address."""
    overview = management.overview()
    return {
        "rabbitmq_version": overview.get("rabbitmq_version"),
        "erlang_version": overview.get("erlang_version"),
        "node": overview.get("node"),
        "amqp": procs.AMQP_HOST,
    }


def main() -> None:
    """Parse arguments; run the whole benchmark, or one client when called with --client."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=5000, help="tasks per end-to-end and submit run")
    parser.add_argument("--reps", type=int, default=3, help="repetitions; figures are medians")
    parser.add_argument("--rtt", type=int, default=1000, help="sequential round trips per repetition")
    parser.add_argument("--batch", type=int, default=500, help="confirm batch of the raw publisher")
    parser.add_argument(
        "--only",
        choices=["raw", "celery", "ours", "tracing"],
        action="append",
        help="measure only these ('tracing': ours with tracing off, then on)",
    )
    parser.add_argument("--output", default=str(RESULTS), help="where to write the JSON results")
    parser.add_argument(
        "--ours-env",
        type=lambda text: tuple(text.split("=", 1)),
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment of the project's worker (to compare settings)",
    )
    parser.add_argument("--ours-arg", action="append", default=[], help="extra argument of the project's worker")
    parser.add_argument("--profile", metavar="PREFIX", help="cProfile each client into PREFIX.<system>.prof")
    parser.add_argument("--client", choices=["raw", "celery", "ours"], help=argparse.SUPPRESS)
    parser.add_argument("--vhost", help=argparse.SUPPRESS)
    parser.add_argument("--log-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(args)
        return

    from broker_admin import ManagementClient

    management = ManagementClient(procs.MANAGEMENT_URL, "guest", "guest")
    vhost = f"ct-bench-{uuid.uuid4().hex[:8]}"
    management.create_vhost(vhost)
    management.set_permissions(vhost, "guest")
    started = time.monotonic()
    info = machine()
    figures: dict[str, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="ct-bench-") as log_dir:
            for system in args.only or ["raw", "celery", "ours", "tracing"]:
                print(f"measuring {system} ...", flush=True)
                if system == "tracing":
                    figures[system] = tracing_pair(vhost, args, Path(log_dir))
                else:
                    figures[system] = run_client(system, vhost, args, Path(log_dir))
                print(json.dumps(figures[system], indent=None), flush=True)
    finally:
        management.delete_vhost(vhost)
    report: dict[str, Any] = {
        "command": "make bench  # .venv/bin/python benchmarks/bench.py " + " ".join(sys.argv[1:]),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "parameters": {"tasks": args.tasks, "reps": args.reps, "rtt_calls": args.rtt, "raw_confirm_batch": args.batch},
        "machine": info,
        "broker": broker_info(management),
        "seconds": round(time.monotonic() - started, 1),
    }
    if {"raw", "celery", "ours"} <= set(figures):
        report.update(summarize(figures["raw"], figures["celery"], figures["ours"]))
        print()
        print(table(figures["raw"], figures["celery"], figures["ours"]))
        print()
        for key in ("e2e_vs_celery", "rtt_p50_vs_raw", "rtt_p99_over_p50", "submit_vs_raw", "validation_share"):
            print(f"{key:>20}: {report[key]}")
        for target, met in report["targets"].items():
            print(f"{'met' if met else 'NOT MET':>8}  {target}")
        report["table_markdown"] = table(figures["raw"], figures["celery"], figures["ours"])
        prefork = figures["ours"].get("all_queues_worker")
        if prefork:
            print(
                f"\nours with consumer-diagnostics on all its queues (prefork profile): {prefork['e2e_per_s']:,.0f} "
                f"tasks/s end to end ({prefork['e2e_per_s'] / figures['celery']['e2e_per_s']:.2f}x Celery), "
                f"round trip p50 {prefork['rtt_p50_ms']:.2f} ms, p99 {prefork['rtt_p99_ms']:.2f} ms"
            )
    if "tracing" in figures:
        print("\n" + tracing_table(figures["tracing"]))
        report["tracing_table_markdown"] = tracing_table(figures["tracing"])
    report.update(figures)
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.output} in {report['seconds']} s")


if __name__ == "__main__":
    main()
