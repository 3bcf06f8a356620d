"""Errors of the alert service, under one root class.

Each takes a single message string, so that it survives Celery's result serialization
and the producer sees the same class and message.
"""

from __future__ import annotations

from celery_tasks.errors import ConfigurationError


class AlertError(Exception):
    """Root of the alert service's errors."""


class AlertConfigurationError(AlertError, ConfigurationError):
    """Raised when an ALERT_* setting is missing or invalid; the message names the setting."""


class UnsafeHeader(AlertError):
    """Raised when a value meant for a mail header could inject headers (a line break, a control character)."""


class InvalidRecipient(UnsafeHeader):
    """Raised when a recipient or sender is not one plain ``local@domain`` address."""


class NoRecipients(AlertError):
    """Raised when the task names no recipients and ALERT_DEFAULT_RECIPIENTS is empty."""


class ChartError(AlertError):
    """Raised when the chart cannot be drawn or written."""


class DeliveryFailed(AlertError):
    """Raised when the SMTP server certainly did not take the mail (refused, unreachable); it may be retried."""

    #: False for a permanent refusal (5xx, bad credentials): retrying would fail the same way.
    transient: bool = True


class PermanentDeliveryFailure(DeliveryFailed):
    """Raised when the SMTP server refused the mail for good (5xx reply, authentication failure)."""

    transient = False


class DeliveryUncertain(AlertError):
    """Raised when the connection broke while the server was taking the message: it may have been sent.

    The claim is kept (state ``uncertain``), so the alert is not sent a second time.
    """
