"""Console entry point of the producer service."""

from __future__ import annotations

import io
import sys

from producer.cli import app


def main() -> None:
    """Run the `producer` command line, its progress lines flushed as they happen even into a pipe."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    app()
