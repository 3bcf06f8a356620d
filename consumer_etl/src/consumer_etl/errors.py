"""Errors of the ETL service."""

from __future__ import annotations

from celery_tasks.errors import ConfigurationError


class EtlError(Exception):
    """Root of the ETL service's errors."""


class KeywordsFileError(EtlError):
    """Raised when the keywords file is missing, not JSON, or describes keywords that cannot match."""


class StopwordsFileError(EtlError):
    """Raised when the stopwords file cannot be read."""


class EtlConfigurationError(EtlError, ConfigurationError):
    """Raised when an ETL_* setting is invalid; the message names it."""
