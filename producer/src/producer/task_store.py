"""Task state for the HTTP API and the CLI: read from, and cancelled in, a shared result store.

With Redis or a database as the result store, every API process reads any task's state,
progress and typed result from it (the contract is known from the task's submitted
record), also after a restart. With rpc:// only the process that sent a task can (api.py).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from celery import states
from celery_tasks.contract import Contract
from celery_tasks.errors import CeleryTasksError, UnknownContract
from celery_tasks.registry import get_contract
from celery_tasks.runtime.app import ContractApp
from celery_tasks.runtime.progress import PROGRESS
from celery_tasks.runtime.progress import parse as parse_progress
from celery_tasks.runtime.revocations import cancel as revoke
from celery_tasks.runtime.stores import is_shared, submitted_record, task_meta
from pydantic import BaseModel

from producer.errors import ProducerError

TASK_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class MalformedTaskId(ProducerError):
    """Raised for a task id that is not a UUID (every task id this system makes is one)."""


class UnknownTask(ProducerError):
    """Raised when the result store knows nothing of a task id."""


class TaskError(BaseModel):
    """Why a task failed, as the worker reported it."""

    type: str
    message: str


class TaskStatus(BaseModel):
    """A submitted task's state, its latest progress and, once it is done, its typed result or its error."""

    task_id: str
    name: str | None
    state: str
    ready: bool
    submitted_at: dt.datetime | None = None
    progress_type: str | None = None
    progress: dict[str, Any] | None = None
    result_type: str | None = None
    result: dict[str, Any] | None = None
    error: TaskError | None = None


class CancelAnswer(BaseModel):
    """What a cancel did."""

    task_id: str
    state: str = states.REVOKED
    previous_state: str
    lasting: bool


def check_task_id(task_id: str) -> str:
    """The id unchanged, or MalformedTaskId."""
    if not TASK_ID.match(task_id):
        raise MalformedTaskId(f"malformed task id {task_id[:80]!r}: task ids are UUIDs like 3f2b…-…")
    return task_id


def describe(
    task_id: str,
    contract: type[Contract[Any, Any]] | None,
    submitted_at: dt.datetime | None,
    state: str,
    info: Any,
    *,
    name: str | None = None,
) -> TaskStatus:
    """A TaskStatus from a task's state and its result, error or progress."""
    status = TaskStatus(
        task_id=task_id,
        name=contract.name if contract else name,
        state=state,
        ready=state in states.READY_STATES,
        submitted_at=submitted_at,
    )
    if state == states.SUCCESS:
        if contract is None:
            return status.model_copy(update={"result": info if isinstance(info, dict) else {"value": info}})
        try:
            result = contract.parse_result(info)
        except CeleryTasksError as exc:
            error = TaskError(type=type(exc).__name__, message=str(exc))
            return status.model_copy(update={"state": states.FAILURE, "error": error})
        typed = {"result": result.model_dump(mode="json"), "result_type": type(result).__name__}
        return status.model_copy(update=typed)
    if state in states.PROPAGATE_STATES:
        return status.model_copy(update={"error": TaskError(type=type(info).__name__, message=str(info))})
    if state == PROGRESS and contract is not None:
        reported = parse_progress(contract, state, info)
        if reported is not None:
            return status.model_copy(
                update={"progress": reported.model_dump(mode="json"), "progress_type": type(reported).__name__}
            )
    return status


def read_status(app: ContractApp, task_id: str) -> TaskStatus:
    """A task's status from the shared store (blocking: run it on a worker thread); UnknownTask if none."""
    check_task_id(task_id)
    record = submitted_record(app, task_id)
    meta = task_meta(app, task_id)
    state = str(meta.get("status", states.PENDING))
    if record is None and state == states.PENDING:
        raise UnknownTask(f"unknown task id {task_id!r}: the result store holds no such task (or it expired)")
    name = (record or {}).get("name") or meta.get("name")
    contract = _contract(name)
    submitted = (record or {}).get("submitted_at")
    submitted_at = dt.datetime.fromisoformat(submitted) if isinstance(submitted, str) else None
    return describe(task_id, contract, submitted_at, state, meta.get("result"), name=name)


def cancel_task(app: ContractApp, task_id: str) -> CancelAnswer:
    """Cancel a task for good (blocking); UnknownTask for an id the store never saw, NotCancellable when done."""
    check_task_id(task_id)
    if is_shared(app.settings.result_backend):
        known = submitted_record(app, task_id) is not None
        if not known and task_meta(app, task_id).get("status") == states.PENDING:
            raise UnknownTask(f"unknown task id {task_id!r}: the result store holds no such task (or it expired)")
    done = revoke(app, task_id)
    return CancelAnswer(task_id=task_id, previous_state=done.previous_state, lasting=done.lasting)


def _contract(name: Any) -> type[Contract[Any, Any]] | None:
    if not isinstance(name, str):
        return None
    try:
        return get_contract(name)
    except UnknownContract:
        return None
