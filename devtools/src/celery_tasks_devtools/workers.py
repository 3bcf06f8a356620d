"""Celery's in-process test worker, started and stopped within bounds."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from celery.contrib.testing.worker import TestWorkController, start_worker
from celery.worker import state as worker_state

#: Seconds an in-process test worker may take to start, and to stop.
IN_PROCESS_START_TIMEOUT = 60.0
IN_PROCESS_STOP_TIMEOUT = 30.0


class BoundedWorkController(TestWorkController):  # type: ignore[misc]
    """Celery's test worker, whose start-up wait has a bound instead of blocking forever."""

    def ensure_started(self) -> None:
        """Wait until the consumer is ready; raise when it is not within IN_PROCESS_START_TIMEOUT."""
        if not self._on_started.wait(IN_PROCESS_START_TIMEOUT):
            raise RuntimeError(f"in-process worker did not start within {IN_PROCESS_START_TIMEOUT:.0f} s")


@contextlib.contextmanager
def in_process_worker(app: Any, **options: Any) -> Iterator[Any]:
    """A worker on a thread of this process (Celery's ``start_worker``), started and stopped within bounds.

    Celery's helper stops the worker by setting a flag that its event loop reads only when
    the loop wakes up, which an idle loop does on its next timer (up to 10 s later, as long
    as the helper's own join timeout). Here the loop is woken at once through its hub, so
    the worker stops in well under a second; and the flag is always cleared afterwards, so
    a worker that failed to stop can never stop the next test's worker before it starts.
    """
    options.setdefault("pool", "solo")
    options.setdefault("perform_ping_check", False)
    options.setdefault("loglevel", "WARNING")
    options.setdefault("shutdown_timeout", IN_PROCESS_STOP_TIMEOUT)
    try:
        with start_worker(app, WorkController=BoundedWorkController, **options) as worker:
            try:
                yield worker
            finally:
                worker_state.should_terminate = 0
                hub = getattr(worker, "hub", None)
                if hub is not None:
                    hub.call_soon(lambda: None)  # wakes the event loop, which then sees the flag
    finally:
        worker_state.should_terminate = None
        worker_state.should_stop = None
