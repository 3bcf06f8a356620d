"""The devtools' errors, under one root exception."""

from __future__ import annotations


class DevtoolsError(Exception):
    """Root of every error raised by the development tools."""


class EntryPointNotFound(DevtoolsError, FileNotFoundError):
    """A console entry point is not installed beside the interpreter nor on PATH."""


class ServiceExited(DevtoolsError):
    """A started service process exited while it was expected to run."""
