"""A result handle whose get() returns the contract's result model and never hangs on an idle queue."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from celery.exceptions import TimeoutError as CeleryTimeoutError
from celery.result import AsyncResult

from celery_tasks.errors import NoConsumer, ResultNotReachable
from celery_tasks.models import ContractResult
from celery_tasks.runtime import progress, stores

if TYPE_CHECKING:
    from celery_tasks.contract import Contract

ResultT = TypeVar("ResultT", bound=ContractResult)

CHECK_INTERVAL = 1.0
#: First wait between two reads of a database store's row (doubling up to CELERY_TASKS_RESULT_POLL_INTERVAL).
FIRST_POLL = 0.005


class IdleQueueClock:
    """How long a result handle has seen its queue without consumers; a consumer seen restarts it.

    The clock starts at the first check that finds no consumer, and it belongs to the handle, so
    that repeated short ``get(timeout=...)`` calls (a progress bar polling) add up. A worker that
    restarts while a caller waits gives that caller the whole ``no_consumer_timeout`` from the
    moment its queue was found empty, never the time the caller had already been waiting.
    """

    def __init__(self) -> None:
        self._idle_since: float | None = None

    def idle_for(self, consumers: int, now: float) -> float:
        """Seconds the queue has been seen without consumers as of ``now`` (0 while it has one)."""
        if consumers > 0:
            self._idle_since = None
            return 0.0
        if self._idle_since is None:
            self._idle_since = now
        return now - self._idle_since


class TypedAsyncResult(AsyncResult, Generic[ResultT]):  # type: ignore[misc]
    """AsyncResult of a contract: get() validates into the result model."""

    def __init__(self, task_id: str, *, contract: type[Contract[Any, ResultT]], **kwargs: Any) -> None:
        super().__init__(task_id, **kwargs)
        self.contract = contract
        self.created_at = time.monotonic()
        self.idle_clock = IdleQueueClock()
        self.sender_oid = self.app.thread_oid
        self._poll_delay = FIRST_POLL / 2  # doubled before the first wait

    @property
    def progress(self) -> Any:
        """The latest progress the task reported, as its contract's Progress model (None when none)."""
        return progress.parse(self.contract, self.state, self.info)

    def check_reachable(self) -> None:
        """On rpc://, refuse at once to wait in a thread that did not send the task (it would wait forever)."""
        if stores.is_shared(str(self.app.conf.result_backend)) or self.app.thread_oid == self.sender_oid:
            return
        raise ResultNotReachable(
            f"the result of {self.contract.name}[{self.id}] goes over rpc:// to the thread that sent the task, "
            "and this is another thread: call get() there, or use a shared result store "
            "(CELERY_TASKS_RESULT_BACKEND=redis://... or db+postgresql+psycopg://...)"
        )

    async def aget(self, timeout: float | None = None) -> ResultT:
        """Await the result as the contract's result model, without blocking the event loop (see async_client)."""
        from celery_tasks.runtime.async_client import await_result  # noqa: PLC0415 - it imports this module

        result: ResultT = await await_result(self, timeout)
        return result

    def get(self, timeout: float | None = None, propagate: bool = True, **kwargs: Any) -> ResultT:
        """Wait for the result and return it as the contract's result model.

        Raises the worker's error when the task failed, NoConsumer when the task's queue
        has had no consumer for the configured time, and celery's TimeoutError when
        ``timeout`` passes first.
        """
        self.check_reachable()
        settings = getattr(self.app, "settings", None)
        with stores.store_errors(settings, f"cannot read the result of {self.contract.name}[{self.id}]"):
            raw = self._wait(timeout, propagate, **kwargs)
        if not propagate and isinstance(raw, BaseException):
            raise raw
        return self.contract.parse_result(raw)

    def _wait(self, timeout: float | None, propagate: bool, **kwargs: Any) -> Any:
        app = self.app
        check_after = getattr(app, "consumer_check_after", None)
        if check_after is None:
            return self._get_once(timeout, propagate, **kwargs)
        started = time.monotonic()
        deadline = None if timeout is None else started + timeout
        step = check_after
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise CeleryTimeoutError(f"the result of {self.contract.name}[{self.id}] did not come in time")
            wait = step if remaining is None else min(step, remaining)
            try:
                return self._get_once(wait, propagate, **kwargs)
            except CeleryTimeoutError:
                pass
            step = CHECK_INTERVAL
            idle = self.idle_clock.idle_for(app.consumer_count(self.contract.name), time.monotonic())
            if idle >= app.no_consumer_timeout:
                raise NoConsumer(
                    f"queue {self.contract.name!r} has had no consumer for {idle:.1f} s, so "
                    f"task {self.id} has not run. It stays queued and runs when a worker for "
                    f"{self.contract.name} ({self.contract.implemented_by}) starts"
                )

    def _get_once(self, timeout: float | None, propagate: bool, **kwargs: Any) -> Any:
        """Celery's get(); on a database store, first read the state at short growing intervals.

        Celery's database backend reads the row every 0.5 s; Redis pushes results and rpc:// is a
        queue. Here the row is read after 5 ms, then at doubling intervals up to
        ``CELERY_TASKS_RESULT_POLL_INTERVAL`` (0.05 s), one indexed read each.
        """
        settings = getattr(self.app, "settings", None)
        if settings is None or "interval" in kwargs or not stores.polled(settings.result_backend):
            return super().get(timeout=timeout, propagate=propagate, **kwargs)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.ready():  # a ready state is cached, so get() below reads nothing more
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise CeleryTimeoutError(f"the result of {self.contract.name}[{self.id}] did not come in time")
            self._poll_delay = min(self._poll_delay * 2, settings.result_poll_interval)
            time.sleep(self._poll_delay if remaining is None else min(self._poll_delay, remaining))
        return super().get(timeout=timeout, propagate=propagate, **kwargs)


def handle_of(task: Contract[Any, Any], task_id: str, **kwargs: Any) -> TypedAsyncResult[Any]:
    """The typed handle of one task of a contract."""
    return TypedAsyncResult(
        task_id, backend=task.backend, task_name=task.name, app=task.app, contract=type(task), **kwargs
    )
