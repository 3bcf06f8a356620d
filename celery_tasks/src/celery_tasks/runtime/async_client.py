"""The asyncio client: ``await task.adelay(...)`` and ``await handle.aget()`` never block the event loop.

Arguments are validated in the caller before anything leaves, exactly as ``delay``. Sends run
on worker threads (Celery's producer pool is thread-safe), so concurrent requests of an
async web app are not serialised on one thread. Waiting depends on the result store:

* a shared store (Redis, database): the task's state is read in short polls on any thread,
  backing off from 5 ms to 250 ms, and the event loop is free in between;
* rpc://: the result goes to the thread that sent the task, so sends and waits of one app
  share a single dedicated thread (today's behaviour, one thread per app).
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from celery import states
from celery.exceptions import TimeoutError as CeleryTimeoutError

from celery_tasks.errors import NoConsumer
from celery_tasks.runtime import stores

if TYPE_CHECKING:
    from pydantic import BaseModel

    from celery_tasks.contract import Contract
    from celery_tasks.runtime.results import TypedAsyncResult

FIRST_POLL = 0.005
LONGEST_POLL = 0.25

_executor_lock = threading.Lock()


def executor_for(app: Any) -> Executor | None:
    """The executor for an app's Celery calls: None (the loop's default pool) on a shared store, one thread on rpc://."""
    if stores.is_shared(str(app.conf.result_backend)):
        return None
    with _executor_lock:
        executor: Executor | None = getattr(app, "_rpc_executor", None)
        if executor is None:
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="celery-rpc")
            app._rpc_executor = executor
    return executor


async def send(
    task: Contract[Any, Any], args: Sequence[Any], kwargs: Mapping[str, Any], options: Mapping[str, Any]
) -> TypedAsyncResult[Any]:
    """Validate (an ``Args`` instance as the one positional argument is taken as it is), then publish on a thread."""
    arguments = task.parse_arguments(args, kwargs)  # InvalidArguments here, in the caller, before any I/O
    return await send_validated(task, arguments, options)


async def send_validated(
    task: Contract[Any, Any], arguments: BaseModel, options: Mapping[str, Any]
) -> TypedAsyncResult[Any]:
    """Publish validated arguments on a worker thread (they are not validated again); returns the typed handle."""
    call = functools.partial(task.app.send_contract, task, arguments, dict(options))
    executor = executor_for(task.app)
    handle: TypedAsyncResult[Any] = await asyncio.get_running_loop().run_in_executor(executor, call)
    return handle


async def await_result(handle: TypedAsyncResult[Any], timeout: float | None) -> Any:
    """The typed result of a handle, awaited without blocking the event loop."""
    app = handle.app
    executor = executor_for(app)
    loop = asyncio.get_running_loop()
    if executor is not None:
        return await loop.run_in_executor(executor, functools.partial(handle.get, timeout))
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    check_after = getattr(app, "consumer_check_after", None)
    delay = FIRST_POLL
    while True:
        meta = await loop.run_in_executor(None, stores.task_meta, app, handle.id)
        status = meta.get("status")
        if status == states.SUCCESS:
            return handle.contract.parse_result(meta.get("result"))
        if status in states.READY_STATES:
            error = meta.get("result")
            raise error if isinstance(error, BaseException) else RuntimeError(f"task {handle.id} ended {status}")
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            raise CeleryTimeoutError(f"the result of {handle.contract.name}[{handle.id}] did not come in time")
        if status == states.PENDING and check_after is not None and now - started >= check_after:
            consumers = await loop.run_in_executor(None, app.consumer_count, handle.contract.name)
            idle = handle.idle_clock.idle_for(consumers, now)
            if idle >= app.no_consumer_timeout:
                raise NoConsumer(
                    f"queue {handle.contract.name!r} has had no consumer for {idle:.1f} s, so task "
                    f"{handle.id} has not run. It stays queued and runs when a worker for {handle.contract.name} starts"
                )
        await asyncio.sleep(delay if deadline is None else max(0.0, min(delay, deadline - now)))
        delay = min(delay * 2, LONGEST_POLL)
