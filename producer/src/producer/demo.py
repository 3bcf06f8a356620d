"""`producer demo`: the whole system on one machine, started, exercised and stopped by one command.

The demo serves the fake news site and starts the consumers with the process runner of
celery-tasks-devtools, a development package no service image installs (the producer's
``demo`` extra; ``make bootstrap`` installs it). It is imported here, when the demo runs,
so that the rest of the producer never needs it. The work itself is in
:mod:`producer.demo_run`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rich.console import Console

from producer.errors import DemoError
from producer.pipeline import PipelineReport

DEVTOOLS_MISSING = (
    "the demo needs celery-tasks-devtools (the fake news site and the process runner): "
    "run `make bootstrap`, or install the producer with its `demo` extra"
)


def run_demo(
    output: Path, vhost: str, console: Console, *, today: dt.date | None = None, language: str = "en"
) -> PipelineReport:
    """Run the demo end to end on a site in ``language`` (en, zh); DemoError unless a mail with a chart came."""
    try:
        from producer import demo_run  # noqa: PLC0415 - needs celery-tasks-devtools: only when the demo runs
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] == "celery_tasks_devtools":
            raise DemoError(DEVTOOLS_MISSING) from None
        raise
    return demo_run.run_demo(output, vhost, console, today=today, language=language)
