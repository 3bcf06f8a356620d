"""Start a worker for a set of contracts with the project's reliability defaults."""

from __future__ import annotations

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


def run_worker(
    contracts: Sequence[type[Contract[Any, Any]]], *, service: str, argv: Sequence[str] | None = None
) -> None:
    """Run a worker consuming the queues of ``contracts`` until it is stopped (the console entry points)."""
    settings = load_settings()
    app = create_app(contracts, settings)
    app.worker_main(worker_argv(service, settings, sys.argv[1:] if argv is None else argv))
