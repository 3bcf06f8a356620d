"""Console entry point: `consumer-crawler [celery worker options]`.

Crawling waits on the network, so the worker defaults to ``--pool=threads
--concurrency=32`` (all threads share one HTTP pool, politeness gate and robots cache).
Options given on the command line win (they come last). ``CELERY_TASKS_WORKER_CONCURRENCY``
replaces the concurrency default, and ``CELERY_TASKS_WORKER_POOL`` the pool default
when it names another pool than ``prefork`` (the library-wide default, which every
service's environment carries); for prefork here, pass ``--pool=prefork``.
"""

from __future__ import annotations

import os
import sys

from celery.signals import worker_init, worker_shutdown
from celery_tasks.runtime.worker import run_worker

from consumer_crawler.runtime import close_runtime, init_storage
from consumer_crawler.tasks import CONTRACTS

DEFAULT_POOL = "threads"
DEFAULT_CONCURRENCY = 32


def default_worker_options(environ: dict[str, str] | None = None) -> list[str]:
    """The crawler's pool defaults, unless the environment configures the pool."""
    env = os.environ if environ is None else environ
    options = []
    if env.get("CELERY_TASKS_WORKER_POOL", "prefork") == "prefork":
        options.append(f"--pool={DEFAULT_POOL}")
    if not env.get("CELERY_TASKS_WORKER_CONCURRENCY"):
        options.append(f"--concurrency={DEFAULT_CONCURRENCY}")
    return options


def main() -> None:
    """Run the crawler worker on the crawler.* queues."""
    worker_init.connect(init_storage, weak=False)
    worker_shutdown.connect(close_runtime, weak=False)
    run_worker(CONTRACTS, service="crawler", argv=[*default_worker_options(), *sys.argv[1:]])
