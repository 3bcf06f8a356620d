"""The HTTP API: one POST route per contract whose body is the contract's argument model, and task polling.

With a shared result store (``CELERY_TASKS_RESULT_BACKEND=redis://…`` or ``db+postgresql+psycopg://…``)
the API is stateless: tasks are sent with the async client on worker threads, and
``GET /tasks/{id}`` and ``DELETE /tasks/{id}`` read and write the store, so any API process
answers for any task, also after a restart (task_store.py).

With ``rpc://`` (the default) a worker replies to a queue owned by the client (the thread,
in fact) that sent the task, so only that client can read the result. This process then
does every Celery call on one dedicated thread, and remembers the ids it submitted (the
last ``PRODUCER_API_TRACKED_TASKS``): ``GET /tasks/{id}`` answers for those and 404 for any
other id, including tasks sent by another API process or before a restart.

The routes of tasks are in task_routes.py (each body validated once, by FastAPI, into the
contract's argument model, which is sent as it is), the answers in api_models.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from celery_tasks.contract import Contract
from celery_tasks.errors import CeleryTasksError, ResultStoreUnavailable
from celery_tasks.models import ContractArgs
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks.runtime.app import ContractApp
from celery_tasks.runtime.async_client import send
from celery_tasks.runtime.connectivity import one_off_connection
from celery_tasks.runtime.stores import is_shared
from celery_tasks.settings import TaskSettings
from celery_tasks.topology import queue_counts
from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError

from producer import auth, observability
from producer.api_models import BrokerHealth, Health, Submitted
from producer.body_limit import BodySizeLimit
from producer.client import contract_rows, producer_app
from producer.settings import ProducerSettings
from producer.task_routes import add_submit_routes, add_task_routes
from producer.task_store import (
    CancelAnswer,
    MalformedTaskId,
    TaskStatus,
    UnknownTask,
    cancel_task,
    check_task_id,
    describe,
    read_status,
)

T = TypeVar("T")

NO_RESULT_NOTE = (
    "results come back over the rpc:// backend to the API process that submitted the task; "
    "this process did not submit it (or has forgotten it after PRODUCER_API_TRACKED_TASKS newer tasks, or restarted)"
)


@dataclass
class Tracked:
    """What the API remembers about a task it submitted."""

    contract: type[Contract[Any, Any]]
    submitted_at: dt.datetime
    final: TaskStatus | None = None


class CeleryGateway:
    """Every Celery call of the API on one thread, and the ids of the tasks it submitted."""

    def __init__(self, app: ContractApp, max_tracked: int) -> None:
        self.app = app
        self.max_tracked = max_tracked
        self.tracked: OrderedDict[str, Tracked] = OrderedDict()
        self.lock = threading.Lock()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="celery-gateway")
        #: A shared result store: no state here, any thread may send and read (task_store.py).
        self.shared = is_shared(app.settings.result_backend)

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function`` on the Celery thread without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    async def send(self, contract: type[Contract[Any, Any]], arguments: ContractArgs) -> Submitted:
        """Send one validated task: with the async client on a shared store, else on the Celery thread."""
        if self.shared:
            return await self.submit_shared(contract, arguments)
        return await self.call(self.submit, contract, arguments)

    def submit(self, contract: type[Contract[Any, Any]], arguments: ContractArgs) -> Submitted:
        """Send one validated task as its model and remember its id (runs on the Celery thread)."""
        handle = self.app.tasks[contract.name].apply_async(args=(arguments,))
        with self.lock:
            self.tracked[handle.id] = Tracked(contract, dt.datetime.now(dt.UTC))
            while len(self.tracked) > self.max_tracked:
                self.tracked.popitem(last=False)
        return self.submitted(contract, handle.id, self.app.consumer_count(contract.name))

    async def submit_shared(self, contract: type[Contract[Any, Any]], arguments: ContractArgs) -> Submitted:
        """Send one validated task with the async client, on any worker thread (shared store only)."""
        handle = await send(self.app.tasks[contract.name], (arguments,), {}, {})
        return self.submitted(contract, handle.id, await run_in_threadpool(self.app.consumer_count, contract.name))

    def submitted(self, contract: type[Contract[Any, Any]], task_id: str, consumers: int) -> Submitted:
        """The answer to a POST: the task's id and where to poll it."""
        warning = None
        if consumers == 0:
            warning = (
                f"queue {contract.name!r} has no consumer: the task waits there until a worker of "
                f"{contract.implemented_by} starts"
            )
        return Submitted(
            task_id=task_id,
            name=contract.name,
            queue=contract.name,
            status_url=f"/tasks/{task_id}",
            consumers=consumers,
            warning=warning,
        )

    def status(self, task_id: str) -> TaskStatus | None:
        """The state of a task this process submitted; None for any other id (runs on the Celery thread)."""
        with self.lock:
            tracked = self.tracked.get(task_id)
        if tracked is None:
            return None
        if tracked.final is not None:
            return tracked.final
        handle = self.app.tasks[tracked.contract.name].AsyncResult(task_id)
        state = handle.state
        status = describe(task_id, tracked.contract, tracked.submitted_at, state, handle.info)
        if status.ready:
            tracked.final = status
        return status

    async def read(self, task_id: str) -> TaskStatus:
        """A task's status: from the shared store, or (rpc://) from what this process submitted; UnknownTask if none."""
        check_task_id(task_id)
        if self.shared:
            return await run_in_threadpool(read_status, self.app, task_id)
        status = await self.call(self.status, task_id)
        if status is None:
            raise UnknownTask(f"unknown task id {task_id!r}: {NO_RESULT_NOTE}")
        return status

    async def cancel(self, task_id: str) -> CancelAnswer:
        """Cancel a task: any task on a shared store; with rpc:// only the tasks this process submitted."""
        if self.shared:
            check_task_id(task_id)
            return await run_in_threadpool(cancel_task, self.app, task_id)
        await self.read(task_id)
        return await self.call(cancel_task, self.app, task_id)

    def health(self, queues: list[str]) -> Health:
        """Broker reachability and the consumers of each queue (its own connection, any thread)."""
        broker = BrokerHealth(url=self.app.settings.redacted_broker_url(), reachable=False)
        consumers: dict[str, int] = {}
        try:
            with one_off_connection(self.app) as connection:
                connection.ensure_connection(max_retries=1, timeout=self.app.settings.connect_timeout)
                broker = broker.model_copy(update={"reachable": True})
                for queue in queues:
                    consumers[queue] = _consumers(connection, queue)
        except (OperationalError, OSError, ConnectionError) as exc:
            broker = broker.model_copy(update={"error": f"{type(exc).__name__}: {exc}"})
        missing = [queue for queue in queues if not consumers.get(queue)]
        status: Literal["ok", "unhealthy"] = "ok" if broker.reachable and not missing else "unhealthy"
        return Health(status=status, broker=broker, consumers=consumers, missing=missing)

    def close(self) -> None:
        """Stop the Celery thread and close the app's connections."""
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.app.close()


def _consumers(connection: Any, queue: str) -> int:
    """Consumers on a queue, 0 when it does not exist (a failed passive declare closes only its channel)."""
    channel = connection.channel()
    try:
        counts = queue_counts(channel, queue)
        return counts.consumers if counts else 0
    finally:
        with contextlib.suppress(Exception):
            channel.close()


def create_api(settings: ProducerSettings, task_settings: TaskSettings, app: ContractApp | None = None) -> FastAPI:
    """The FastAPI application: routes per contract, task status, contracts, health."""
    gateway = CeleryGateway(app or producer_app(task_settings), settings.api_tracked_tasks)
    names = [contract.name for contract in ALL_CONTRACTS]

    async def lookup(task_id: str) -> TaskStatus | None:
        """A task's status for the scope checks of reads and cancels (None when unknown or unreadable)."""
        try:
            return await gateway.read(task_id)
        except (MalformedTaskId, UnknownTask, ResultStoreUnavailable):
            return None

    guard = auth.Guard.from_settings(settings, lookup, names)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        gateway.close()

    api = FastAPI(
        title="celery-tasks producer",
        version="1",
        summary="Send typed tasks to their queues and poll their typed results.",
        description=__doc__ or "",
        lifespan=lifespan,
        dependencies=[Depends(guard)],  # every route: bearer key, scopes, limits (producer.auth)
    )
    api.state.gateway = gateway

    add_submit_routes(api, gateway, ALL_CONTRACTS)
    add_task_routes(api, gateway)

    @api.get("/contracts", tags=["contracts"])
    async def contracts(request: Request) -> list[dict[str, Any]]:
        """The contracts the caller's key may submit: name, version, queue, implementing service and JSON schemas."""
        visible = guard.visible_contracts(request.state.caller)
        return [row for row in contract_rows() if row["name"] in visible]

    @api.get("/healthz", response_model=Health, tags=["health"], responses={503: {"model": Health}})
    def healthz() -> JSONResponse:
        """Broker reachable and at least one consumer on every required queue; 503 otherwise."""
        health = gateway.health(list(settings.health_queues))
        return JSONResponse(health.model_dump(mode="json"), status_code=200 if health.status == "ok" else 503)

    @api.exception_handler(CeleryTasksError)
    async def contract_error(_: Request, exc: CeleryTasksError) -> JSONResponse:
        return JSONResponse({"detail": f"{type(exc).__name__}: {exc}"}, status_code=500)

    api.add_middleware(BodySizeLimit, limit=settings.api_max_body_bytes)
    auth.install(api, guard)
    observability.instrument_api(api)  # OpenTelemetry, only when OTEL_* variables ask for it
    return api
