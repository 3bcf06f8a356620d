"""Commands that send work: contracts, submit, pipeline, schedule, serve, demo (issue 4)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the task commands to the producer's command line."""
