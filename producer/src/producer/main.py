"""Console entry point of the producer service."""

from __future__ import annotations

from producer.cli import app


def main() -> None:
    """Run the `producer` command line."""
    app()
