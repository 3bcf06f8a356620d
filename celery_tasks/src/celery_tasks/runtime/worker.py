"""Start a worker for a set of contracts with the project's reliability defaults."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from celery import signals

from celery_tasks.contract import Contract
from celery_tasks.runtime import logs, tracing
from celery_tasks.runtime.factory import create_app
from celery_tasks.runtime.pools import apply_work_profile
from celery_tasks.runtime.upstream.worker import WARM_SHUTDOWN
from celery_tasks.settings import TaskSettings, load_settings


def worker_argv(service: str, settings: TaskSettings, extra: Sequence[str] = ()) -> list[str]:
    """Celery worker arguments: our defaults first, so that the caller's flags win."""
    argv = [
        "worker",
        f"--hostname={service}@%h",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        f"--pool={settings.worker_pool}",
    ]
    if settings.worker_concurrency:
        argv.append(f"--concurrency={settings.worker_concurrency}")
    if settings.task_events:
        argv.append("--task-events")
    if settings.log_format == "json":
        argv.insert(0, "--quiet")  # celery's global option: no start-up banner (printed, not logged)
    return [*argv, *extra]


def bounded_warm_shutdown(settings: TaskSettings) -> None:
    """Make SIGTERM (`docker stop`) give running tasks ``shutdown_grace`` seconds, then requeue the rest.

    SIGTERM starts Celery's warm shutdown: no new task is taken and running ones may finish,
    but without a bound, so a long task would be cut off by the container's SIGKILL. Here a
    timer started by the warm shutdown sends SIGQUIT after the grace period: Celery's cold
    shutdown then cancels the tasks still running, unacknowledged, and RabbitMQ requeues them.
    (Celery's own REMAP_SIGTERM=SIGQUIT is not used: it also changes the signal that cancels
    a task on connection loss, and a worker then stopped itself during a broker restart.)
    """
    grace = settings.shutdown_grace
    if grace <= 0:
        return
    started = threading.Event()

    def on_shutting_down(sender: Any = None, how: str = "", **_: Any) -> None:
        if how != WARM_SHUTDOWN or started.is_set():
            return
        started.set()
        timer = threading.Timer(grace, os.kill, (os.getpid(), signal.SIGQUIT))
        timer.daemon = True
        timer.start()

    signals.worker_shutting_down.connect(on_shutting_down, weak=False)


def run_worker(
    contracts: Sequence[type[Contract[Any, Any]]], *, service: str, argv: Sequence[str] | None = None
) -> None:
    """Run a worker consuming the queues of ``contracts`` until it is stopped (the console entry points)."""
    settings = load_settings()
    logs.configure(service, settings.log_format)
    tracing.setup(service)  # only when OTEL_* variables ask for it; prefork children rebuild the exporter
    app = create_app(contracts, settings)
    bounded_warm_shutdown(settings)
    extra = list(sys.argv[1:] if argv is None else argv)
    profile = apply_work_profile(contracts, settings, extra)  # pool and prefetch per kind of work (pools.py)
    app.worker_main(worker_argv(service, settings, [*profile, *extra]))
