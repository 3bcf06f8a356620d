"""Start a worker for a set of contracts with the project's reliability defaults."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from celery_tasks.contract import Contract
from celery_tasks.factory import create_app
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
    return [*argv, *extra]


#: Celery's switch that turns SIGTERM into a cold shutdown preceded by the soft shutdown (shutdown_grace).
REMAP_SIGTERM = "REMAP_SIGTERM"


def bounded_sigterm(settings: TaskSettings) -> None:
    """Make SIGTERM (`docker stop`) give running tasks ``shutdown_grace`` seconds, then requeue the rest.

    By default SIGTERM starts Celery's warm shutdown, which waits for running tasks without a
    bound, so a long task is cut off by the container's SIGKILL. With REMAP_SIGTERM=SIGQUIT it
    starts the soft shutdown: running tasks get ``worker_soft_shutdown_timeout`` seconds, the
    ones still running are then cancelled unacknowledged, and RabbitMQ requeues them. Celery
    reads the variable when billiard is first imported, which has already happened here, so
    the console command re-executes itself once with it set (same process id).
    """
    if settings.shutdown_grace <= 0 or REMAP_SIGTERM in os.environ:
        return
    os.environ[REMAP_SIGTERM] = "SIGQUIT"
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])  # noqa: S606 - the same command, re-run


def run_worker(
    contracts: Sequence[type[Contract[Any, Any]]], *, service: str, argv: Sequence[str] | None = None
) -> None:
    """Run a worker consuming the queues of ``contracts`` until it is stopped (the console entry points)."""
    settings = load_settings()
    if argv is None:
        bounded_sigterm(settings)
    app = create_app(contracts, settings)
    app.worker_main(worker_argv(service, settings, sys.argv[1:] if argv is None else argv))
