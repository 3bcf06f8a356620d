"""Every exception raised by task_storage, under one root class."""

from __future__ import annotations


class TaskStorageError(Exception):
    """Root of the errors task_storage raises (SQLAlchemy's own errors pass through unchanged)."""
