"""The one send path of a contract app: size check, topology, prepared message or Celery's send, submitted record."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import celery
from pydantic import BaseModel

from celery_tasks.errors import CeleryTasksError, PublishRefused
from celery_tasks.runtime import stores
from celery_tasks.runtime.bulk import can_send_direct, prepare_one, send_one, submit_many
from celery_tasks.runtime.connectivity import broker_errors

if TYPE_CHECKING:
    from celery_tasks.contract import Contract
    from celery_tasks.runtime.results import TypedAsyncResult

logger = logging.getLogger(__name__)

#: apply_async arguments that Celery's send handles and the prepared message does not.
CELERY_ONLY = ("producer", "link", "link_error", "shadow")


def send_contract(task: Contract[Any, Any], arguments: BaseModel, options: dict[str, Any]) -> TypedAsyncResult[Any]:
    """Publish one validated call: the prepared message when it applies, Celery's own send otherwise.

    The payload size is checked once, before any I/O, by ``Contract.payload_json``.
    """
    app = task.app
    payload = task.payload_json(arguments)
    task_id = options.pop("task_id", None)
    celery_only = {key: options.pop(key, None) for key in CELERY_ONLY}
    direct = can_send_direct(task, options, **celery_only)
    prepared = prepare_one(task, payload, task_id, **options) if direct else None
    settings = getattr(app, "settings", None)
    with (
        broker_errors(settings, f"cannot send {task.name}"),
        stores.store_errors(settings, f"cannot send {task.name} (nothing was sent)"),
    ):
        app.declare_topology_once(task.name)
        if prepared is not None:
            handle: TypedAsyncResult[Any] = send_one(task, prepared)
        else:
            handle = task.publish_with_celery(arguments, {"task_id": task_id, **celery_only, **options})  # type: ignore[assignment]
    record_submitted(task, [handle.id])
    return handle


def send_many(
    task: Contract[Any, Any], calls: Iterable[Any], window: int, options: Mapping[str, Any]
) -> list[TypedAsyncResult[Any]]:
    """Validate every call, then publish them with batched confirms (see bulk.py)."""
    settings = getattr(task.app, "settings", None)
    try:
        with broker_errors(settings, f"cannot send {task.name}"):
            sent = submit_many(task, calls, window=window, **options)
    except PublishRefused as exc:  # the accepted ones are queued: record them too
        record_submitted(task, [handle.id for handle in getattr(exc, "accepted", ())], bulk=True)
        raise
    record_submitted(task, [handle.id for handle in sent], bulk=True)
    return sent


def record_submitted(task: Contract[Any, Any], task_ids: Sequence[str], *, bulk: bool = False) -> None:
    """Keep the tasks' contract name in a shared store, so any process reads their results typed.

    The tasks are already queued: a store that fails now is logged, never raised (nothing is lost,
    the worker stores its result when the store is back).
    """
    app: celery.Celery = task.app
    settings = getattr(app, "settings", None)
    if not task_ids or settings is None or not stores.is_shared(settings.result_backend):
        return
    try:
        if bulk:
            stores.record_submitted_many(app, task_ids, task.name)
        else:
            stores.record_submitted(app, task_ids[0], task.name)
    except CeleryTasksError as exc:
        logger.warning("%s", exc)
