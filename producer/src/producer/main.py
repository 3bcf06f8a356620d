"""Console entry point of the producer service."""

from __future__ import annotations

import io
import sys

from producer import observability
from producer.cli import app


def main() -> None:
    """Run the `producer` command line, its progress lines flushed as they happen even into a pipe."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    observability.setup_process()  # JSON logs and tracing when the environment asks for them
    app()
