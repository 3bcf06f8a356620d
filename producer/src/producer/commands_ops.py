"""Operations commands: status, dlq, scale-advice, metrics (issue 5)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the operations commands to the producer's command line."""
