"""The ``alert.send_alert`` implementation the worker runs."""

from __future__ import annotations

import random
import threading

from celery_tasks.tasks import alert

from consumer_alert.errors import DeliveryFailed
from consumer_alert.service import AlertService

_service: AlertService | None = None
_lock = threading.Lock()


def get_service() -> AlertService:
    """The process's service, created on first use (after the prefork pool forked, so each child has its engine)."""
    global _service  # noqa: PLW0603 - one service per worker process
    with _lock:
        if _service is None:
            _service = AlertService.from_environment()
        return _service


class SendAlert(alert.SendAlert):
    """Draw the keyword's chart and mail it, at most once per keyword and day."""

    def run(self, args: alert.SendAlertArgs) -> alert.SendAlertResult:
        """Send the alert; a transient SMTP failure is retried with exponential backoff and jitter."""
        service = get_service()
        try:
            return service.send(args)
        except DeliveryFailed as exc:
            retries = int(self.request.retries or 0)
            if not exc.transient or retries >= service.settings.retries:
                raise
            delay = service.settings.retry_backoff * 2**retries
            # Whole seconds of at least 1: on quorum queues Celery delays through RabbitMQ's native
            # delayed delivery, which only takes integer countdowns of one second or more.
            countdown = max(1, round(delay * random.uniform(0.5, 1.0)))  # noqa: S311 - jitter, not cryptography
            raise self.retry(exc=exc, countdown=countdown, max_retries=service.settings.retries) from exc


CONTRACTS = (SendAlert,)
