"""`producer submit --wait`: wait for a typed result, drawing the task's reported progress as a bar."""

from __future__ import annotations

import time
from typing import Any

from celery.exceptions import TimeoutError as CeleryTimeoutError
from celery_tasks.runtime.progress import fraction
from celery_tasks.runtime.results import TypedAsyncResult
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

#: Seconds between two progress reads while waiting.
POLL = 0.5


def wait_with_progress(handle: TypedAsyncResult[Any], timeout: float, console: Console) -> Any:
    """The task's typed result; meanwhile a bar of its progress (when its contract reports any)."""
    deadline = time.monotonic() + timeout
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        shown = bar.add_task(handle.contract.name, total=None)
        while True:
            remaining = deadline - time.monotonic()
            try:
                return handle.get(timeout=max(0.01, min(POLL, remaining)))
            except CeleryTimeoutError:
                if remaining <= POLL:
                    raise
            reported = handle.progress
            if reported is None:
                continue
            done_total = fraction(reported)
            description = f"{handle.contract.name} {reported.model_dump_json()}"
            if done_total is None:
                bar.update(shown, description=description)
            else:
                bar.update(shown, description=description, completed=done_total[0], total=done_total[1])
