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
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import inspect
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from amqp.exceptions import NotFound
from celery import states
from celery_tasks.contract import Contract
from celery_tasks.errors import (
    BrokerUnavailable,
    CeleryTasksError,
    InvalidArguments,
    NotCancellable,
    PayloadTooLarge,
    ResultStoreUnavailable,
    UnknownContract,
)
from celery_tasks.registry import ALL_CONTRACTS, get_contract
from celery_tasks.runtime.app import ContractApp
from celery_tasks.runtime.async_client import send
from celery_tasks.runtime.stores import is_shared
from celery_tasks.settings import TaskSettings
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError
from pydantic import BaseModel, Field

from producer import auth, observability
from producer.body_limit import BodySizeLimit
from producer.client import contract_rows, producer_app
from producer.settings import ProducerSettings
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


class Submitted(BaseModel):
    """A task accepted and sent to its queue."""

    task_id: str
    name: str
    queue: str
    state: str = states.PENDING
    status_url: str
    consumers: int = Field(description="Consumers on the queue when the task was sent.")
    warning: str | None = None


class BrokerHealth(BaseModel):
    """Whether the broker answered."""

    url: str
    reachable: bool
    error: str | None = None


class Health(BaseModel):
    """Broker reachability and consumers per required queue."""

    status: Literal["ok", "unhealthy"]
    broker: BrokerHealth
    consumers: dict[str, int]
    missing: list[str]


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

    def submit(self, contract: type[Contract[Any, Any]], payload: dict[str, Any]) -> Submitted:
        """Send one validated task and remember its id (runs on the Celery thread)."""
        handle = self.app.tasks[contract.name].apply_async(kwargs=payload)
        with self.lock:
            self.tracked[handle.id] = Tracked(contract, dt.datetime.now(dt.UTC))
            while len(self.tracked) > self.max_tracked:
                self.tracked.popitem(last=False)
        return self.submitted(contract, handle.id, self.app.consumer_count(contract.name))

    async def submit_shared(self, contract: type[Contract[Any, Any]], payload: dict[str, Any]) -> Submitted:
        """Send one validated task with the async client, on any worker thread (shared store only)."""
        handle = await send(self.app.tasks[contract.name], (), payload, {})
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

    def health(self, queues: list[str]) -> Health:
        """Broker reachability and the consumers of each queue (its own connection, any thread)."""
        broker = BrokerHealth(url=self.app.settings.redacted_broker_url(), reachable=False)
        consumers: dict[str, int] = {}
        try:
            with self.app.connection_for_write() as connection:
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
        _, _, count = channel.queue_declare(queue=queue, passive=True)
        return int(count)
    except NotFound:
        return 0
    finally:
        with contextlib.suppress(Exception):
            channel.close()


def _submit_route(gateway: CeleryGateway, contract: type[Contract[Any, Any]]) -> Callable[..., Awaitable[Submitted]]:
    """The POST endpoint of one contract: FastAPI validates the body against the contract's Args."""

    async def endpoint(args: Any) -> Submitted:
        payload = args.model_dump(mode="json")
        try:
            if gateway.shared:
                return await gateway.submit_shared(contract, payload)
            return await gateway.call(gateway.submit, contract, payload)
        except InvalidArguments as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        except PayloadTooLarge as exc:
            raise HTTPException(status_code=413, detail=str(exc)) from None
        except (BrokerUnavailable, ResultStoreUnavailable) as exc:
            raise HTTPException(status_code=503, detail=str(exc)) from None
        except (OperationalError, OSError, ConnectionError) as exc:
            raise HTTPException(
                status_code=503, detail=f"could not send {contract.name}: broker unreachable ({exc})"
            ) from None

    parameter = inspect.Parameter("args", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=contract.Args)
    endpoint.__signature__ = inspect.Signature([parameter], return_annotation=Submitted)  # type: ignore[attr-defined]
    endpoint.__name__ = f"submit_{contract.name.replace('.', '_')}"
    return endpoint


#: The HTTP answer to each error of reading or cancelling a task.
TASK_ERROR_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (MalformedTaskId, 422),
    (UnknownTask, 404),
    (NotCancellable, 409),
    (ResultStoreUnavailable, 503),
    (BrokerUnavailable, 503),
)


@contextlib.contextmanager
def _task_errors_as_http() -> Iterator[None]:
    """Turn the errors of reading or cancelling a task into their HTTP answers."""
    try:
        yield
    except tuple(kind for kind, _ in TASK_ERROR_STATUS) as exc:
        status = next(code for kind, code in TASK_ERROR_STATUS if isinstance(exc, kind))
        raise HTTPException(status_code=status, detail=str(exc)) from None


async def read_task(gateway: CeleryGateway, task_id: str) -> TaskStatus:
    """A task's status: from the shared store, or (rpc://) from what this process submitted; UnknownTask if none."""
    check_task_id(task_id)
    if gateway.shared:
        return await run_in_threadpool(read_status, gateway.app, task_id)
    status = await gateway.call(gateway.status, task_id)
    if status is None:
        raise UnknownTask(f"unknown task id {task_id!r}: {NO_RESULT_NOTE}")
    return status


def _task_routes(api: FastAPI, gateway: CeleryGateway) -> None:
    """GET /tasks/{id} (state, progress, typed result) and DELETE /tasks/{id} (cancel)."""

    @api.get("/tasks/{task_id}", response_model=TaskStatus, tags=["tasks"])
    async def task_status(task_id: str) -> TaskStatus:
        """State and latest progress of a task; once done, its typed result or its error."""
        with _task_errors_as_http():
            return await read_task(gateway, task_id)

    @api.delete("/tasks/{task_id}", response_model=CancelAnswer, tags=["tasks"])
    async def task_cancel(task_id: str) -> CancelAnswer:
        """Cancel a task: a queued one never runs, a running one is stopped where its pool allows."""
        with _task_errors_as_http():
            if gateway.shared:
                check_task_id(task_id)
                return await run_in_threadpool(cancel_task, gateway.app, task_id)
            await read_task(gateway, task_id)  # rpc://: only the tasks this process submitted
            return await gateway.call(cancel_task, gateway.app, task_id)


def create_api(settings: ProducerSettings, task_settings: TaskSettings, app: ContractApp | None = None) -> FastAPI:
    """The FastAPI application: routes per contract, task status, contracts, health."""
    gateway = CeleryGateway(app or producer_app(task_settings), settings.api_tracked_tasks)
    names = [contract.name for contract in ALL_CONTRACTS]

    async def lookup(task_id: str) -> TaskStatus | None:
        """A task's status for the scope checks of reads and cancels (None when unknown or unreadable)."""
        try:
            return await read_task(gateway, task_id)
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

    for contract in ALL_CONTRACTS:
        api.add_api_route(
            f"/tasks/{contract.name}",
            _submit_route(gateway, contract),
            methods=["POST"],
            status_code=202,
            response_model=Submitted,
            summary=f"Send {contract.name} (v{contract.version})",
            description=(contract.__doc__ or "").strip() + f"\n\nImplemented by {contract.implemented_by}.",
            tags=[contract.name.split(".", 1)[0]],
            responses={413: {"description": "Body over the limit"}, 503: {"description": "Broker unreachable"}},
        )

    @api.post("/tasks/{name}", status_code=202, include_in_schema=False)
    async def unknown_contract(name: str) -> None:
        try:
            get_contract(name)
        except UnknownContract as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None
        raise HTTPException(status_code=404, detail=f"no route for {name!r}")  # pragma: no cover - routed above

    _task_routes(api, gateway)

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
