"""Crawler throughput: pages per second of `consumer-crawler` against a local site, per pool and concurrency.

Serves ``--pages`` article pages on loopback (benchmarks/crawl_site.py, with ``--latency``
seconds of delay per response to stand in for the network), stores documents in a
scratch PostgreSQL database, and for each worker configuration starts `consumer-crawler`
by its entry point, sends one ``crawler.fetch_page`` per page with ``delay_many`` and
waits for every result. Politeness is switched off (CRAWLER_POLITENESS_DELAY=0): with
one host and the default 1 s delay the crawl would measure the delay, not the worker.

    .venv/bin/python benchmarks/crawl_bench.py                 # 2,000 pages, 50 ms latency
    .venv/bin/python benchmarks/crawl_bench.py --configs threads:16 prefork:2
"""

from __future__ import annotations

import argparse
import json
import os
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
from celery_tasks.runtime.factory import create_app  # noqa: E402
from celery_tasks.settings import load_settings  # noqa: E402
from celery_tasks.tasks.crawler import FetchPage  # noqa: E402
from celery_tasks_devtools.ports import free_port  # noqa: E402

from broker_admin import ManagementClient  # noqa: E402
from task_storage import scratch_database  # noqa: E402

BIN = Path(sys.executable).parent
DEFAULT_CONFIGS = ("prefork:2", "prefork:8", "threads:4", "threads:16", "threads:32")


def run_config(
    pool: str, concurrency: int, broker_url: str, database_url: str, urls: list[str], log_dir: Path
) -> dict[str, Any]:
    """Start consumer-crawler with one pool configuration and crawl every URL once."""
    env = {
        "CELERY_TASKS_BROKER_URL": broker_url,
        "CELERY_TASKS_DATABASE_URL": database_url,
        "CRAWLER_ALLOW_LOOPBACK": "true",
        "CRAWLER_POLITENESS_DELAY": "0",
    }
    argv = [str(BIN / "consumer-crawler"), f"--pool={pool}", f"--concurrency={concurrency}"]
    worker = procs.Worker(argv, env, log_dir / f"crawler-{pool}-{concurrency}.log")
    vhost = broker_url.rsplit("/", 1)[1]
    try:
        worker.wait_for_consumers(vhost, FetchPage.name)
        app = create_app([FetchPage], load_settings(broker_url=broker_url))
        task = app.tasks[FetchPage.name]
        for result in task.delay_many([{"url": url} for url in urls[:20]]):
            result.get(timeout=120)
        cpu_before = procs.tree_cpu_seconds(worker.pid)
        started = time.perf_counter()
        results = task.delay_many([{"url": url} for url in urls])
        pages = [result.get(timeout=600) for result in results]
        elapsed = time.perf_counter() - started
        cpu = procs.tree_cpu_seconds(worker.pid) - cpu_before
        stored = sum(1 for page in pages if page.document_id is not None)
        return {
            "pool": pool,
            "concurrency": concurrency,
            "pages": len(urls),
            "stored": stored,
            "pages_per_s": round(len(urls) / elapsed, 1),
            "worker_cpu_ms_per_page": round(cpu / len(urls) * 1000, 2),
            "worker_peak_rss_mib": round(procs.tree_peak_rss_mib(worker.pid)),
            "seconds": round(elapsed, 1),
        }
    finally:
        worker.stop()


def main() -> None:
    """Measure every configuration, print a table, write benchmarks/results-crawler.json."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the site waits before each answer")
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS), help="pool:concurrency ...")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--output", default=str(HERE / "results-crawler.json"))
    args = parser.parse_args()

    management = ManagementClient("http://127.0.0.1:15672", "guest", "guest")
    vhost = f"ct-bench-crawl-{uuid.uuid4().hex[:8]}"
    management.create_vhost(vhost)
    management.set_permissions(vhost, "guest")
    port = free_port()
    results = []
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="ct-crawl-") as log_dir,
        scratch_database(args.postgres_url, "crawlbench") as database_url,
    ):
        site = procs.Worker(
            [
                sys.executable,
                str(HERE / "crawl_site.py"),
                "--port",
                str(port),
                "--pages",
                str(args.pages),
                "--latency",
                str(args.latency),
            ],
            {},
            Path(log_dir) / "site.log",
        )
        try:
            time.sleep(1.0)
            urls = [f"http://127.0.0.1:{port}/articles/{n}.html" for n in range(args.pages)]
            broker_url = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
            for config in args.configs:
                pool, _, concurrency = config.partition(":")
                figures = run_config(pool, int(concurrency), broker_url, database_url, urls, Path(log_dir))
                print(json.dumps(figures), flush=True)
                results.append(figures)
        finally:
            site.stop()
            management.delete_vhost(vhost)
    best = max(results, key=lambda r: r["pages_per_s"])
    report = {
        "command": "python benchmarks/crawl_bench.py " + " ".join(sys.argv[1:]),
        "pages": args.pages,
        "latency_s": args.latency,
        "politeness_delay_s": 0,
        "database": "postgresql",
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "seconds": round(time.monotonic() - started, 1),
        "results": results,
        "best": f"{best['pool']}:{best['concurrency']}",
        "median_pages_per_s": statistics.median(r["pages_per_s"] for r in results),
    }
    print()
    print("| pool | concurrency | pages/s | worker CPU ms/page | worker peak RSS MiB |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['pool']} | {r['concurrency']} | {r['pages_per_s']:.0f} | {r['worker_cpu_ms_per_page']:.1f} "
            f"| {r['worker_peak_rss_mib']} |"
        )
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.output} in {report['seconds']} s")


if __name__ == "__main__":
    main()
