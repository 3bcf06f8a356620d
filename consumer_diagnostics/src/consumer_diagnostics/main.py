"""Console entry point: `consumer-diagnostics [celery worker options]`."""

from __future__ import annotations

from celery_tasks.runtime.worker import run_worker

from consumer_diagnostics.tasks import CONTRACTS


def main() -> None:
    """Run the diagnostics worker on the diagnostics.* queues."""
    run_worker(CONTRACTS, service="diagnostics")
