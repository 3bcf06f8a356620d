"""Errors of the diagnostics service."""

from __future__ import annotations


class DiagnosticsError(Exception):
    """Root of the diagnostics service's errors."""


class RequestedFailure(DiagnosticsError):
    """Raised by diagnostics.crash when asked to fail."""


class LedgerNotConfigured(DiagnosticsError):
    """Raised by diagnostics.record when the worker has no ledger path."""
