"""Cancellation that lasts: revocations kept in the shared result store, not only in worker memory.

Celery's own ``revoke`` is a broadcast: workers running at that moment remember the id in
memory, a worker that starts later (or restarts) does not and runs the task anyway
(celery#8888). Here a cancel also stores the task's state as REVOKED in the result store,
and every worker checks that state just before it runs a task (one store read per task,
only with a shared store): a cancelled task never runs, on any worker, for as long as
results are kept (``CELERY_TASKS_RESULT_EXPIRES``). A running task is stopped where its
pool allows it (prefork: its process gets SIGTERM); threads and solo pools cannot stop a
running task, which then finishes. On rpc:// only the broadcast exists (documented).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from celery import states

from celery_tasks.errors import NotCancellable
from celery_tasks.runtime import stores

logger = logging.getLogger(__name__)

REASON = "cancelled"


@dataclass(frozen=True)
class Cancelled:
    """What a cancel did: the state found before it, and whether the store keeps it."""

    task_id: str
    previous_state: str
    lasting: bool


def cancel(app: Any, task_id: str) -> Cancelled:
    """Revoke a task: stored as REVOKED (shared store) and broadcast to running workers (stopping it there).

    Raises NotCancellable for a task that already finished.
    """
    settings = app.settings
    shared = stores.is_shared(settings.result_backend)
    previous = states.PENDING
    if shared:
        previous = str(stores.task_meta(app, task_id).get("status", states.PENDING))
        if previous in states.READY_STATES and previous != states.REVOKED:
            raise NotCancellable(f"task {task_id} already finished ({previous}); there is nothing to cancel")
        with stores.store_errors(settings, f"cannot cancel task {task_id}"):
            app.backend.mark_as_revoked(task_id, REASON)
    app.control.revoke(task_id, terminate=True)
    return Cancelled(task_id=task_id, previous_state=previous, lasting=shared)


def revoked_in_store(app: Any, task_id: str) -> bool:
    """Whether the shared store says the task was cancelled (False on rpc://, or when the store cannot say)."""
    settings = getattr(app, "settings", None)
    if settings is None or not stores.is_shared(settings.result_backend):
        return False
    try:
        meta = app.backend.get_task_meta(task_id, cache=False)
    except Exception as exc:  # the store is down: run the task rather than lose it
        logger.warning("cannot read the cancellations of %s from the result store: %s", task_id, type(exc).__name__)
        return False
    return bool(meta.get("status") == states.REVOKED)
