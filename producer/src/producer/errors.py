"""Errors of the producer service, under one root class."""

from __future__ import annotations

from celery_tasks.errors import ConfigurationError


class ProducerError(Exception):
    """Root of the producer service's errors."""


class ProducerConfigError(ProducerError, ConfigurationError):
    """Raised when a PRODUCER_ setting is missing or invalid; the message names the variable."""


class DemoError(ProducerError):
    """Raised when the demo cannot start one of its parts or ends without an alert mail."""


class KeysFileError(ProducerError):
    """Raised when the API keys file is missing, unreadable or invalid, or names no such key."""


class DeadLetterError(ProducerError):
    """Raised when a dead-letter command cannot do its work; the message says why."""


class ReplayLocked(DeadLetterError):
    """Raised when another replay or purge of the same contract holds the broker-side lock."""
