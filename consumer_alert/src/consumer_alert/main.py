"""Console entry point: `consumer-alert [celery worker options]`."""

from __future__ import annotations

from celery_tasks.errors import CeleryTasksError
from celery_tasks.runtime.worker import run_worker

from consumer_alert.errors import AlertError
from consumer_alert.message import parse_recipients, sender_address
from consumer_alert.settings import load_alert_settings
from consumer_alert.tasks import CONTRACTS
from task_storage import create_schema, make_engine


def prepare() -> None:
    """Check the ALERT_* settings and create the shared tables, before any worker process starts."""
    settings = load_alert_settings()
    sender_address(settings.mail_from, settings.mail_from_name)
    parse_recipients(settings.default_recipient_list)
    engine = make_engine()
    try:
        create_schema(engine)
    finally:
        engine.dispose()  # the pool children open their own connections


def main() -> None:
    """Run the alert worker on the alert.* queues."""
    try:
        prepare()
    except (AlertError, CeleryTasksError) as exc:
        raise SystemExit(f"consumer-alert: {exc}") from None
    run_worker(CONTRACTS, service="alert")
