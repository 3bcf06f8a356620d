"""The HTTP API's task routes: POST /tasks/{contract} per contract, GET and DELETE /tasks/{id}.

Each POST body is validated once, by FastAPI, into the contract's argument model; the model
instance is what the gateway sends (``apply_async`` does not validate it again).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Protocol

from celery_tasks.contract import Contract
from celery_tasks.errors import (
    BrokerUnavailable,
    InvalidArguments,
    NotCancellable,
    PayloadTooLarge,
    ResultStoreUnavailable,
    UnknownContract,
)
from celery_tasks.models import ContractArgs
from celery_tasks.registry import get_contract
from fastapi import FastAPI, HTTPException
from kombu.exceptions import OperationalError

from producer.api_models import Submitted
from producer.task_store import CancelAnswer, MalformedTaskId, TaskStatus, UnknownTask

#: The HTTP answer to each error of reading or cancelling a task.
TASK_ERROR_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (MalformedTaskId, 422),
    (UnknownTask, 404),
    (NotCancellable, 409),
    (ResultStoreUnavailable, 503),
    (BrokerUnavailable, 503),
)


class TaskGateway(Protocol):
    """What the task routes need from the process that talks to Celery (api.CeleryGateway)."""

    async def send(self, contract: type[Contract[Any, Any]], arguments: ContractArgs) -> Submitted:
        """Send one validated task."""

    async def read(self, task_id: str) -> TaskStatus:
        """A task's status; UnknownTask when this process cannot know it."""

    async def cancel(self, task_id: str) -> CancelAnswer:
        """Cancel a task."""


@contextlib.contextmanager
def task_errors_as_http() -> Iterator[None]:
    """Turn the errors of reading or cancelling a task into their HTTP answers."""
    try:
        yield
    except tuple(kind for kind, _ in TASK_ERROR_STATUS) as exc:
        status = next(code for kind, code in TASK_ERROR_STATUS if isinstance(exc, kind))
        raise HTTPException(status_code=status, detail=str(exc)) from None


def submit_endpoint(gateway: TaskGateway, contract: type[Contract[Any, Any]]) -> Callable[..., Awaitable[Submitted]]:
    """The POST endpoint of one contract: FastAPI validates the body against the contract's Args, once."""

    async def endpoint(args: Any) -> Submitted:
        try:
            return await gateway.send(contract, args)
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


def add_submit_routes(api: FastAPI, gateway: TaskGateway, contracts: Sequence[type[Contract[Any, Any]]]) -> None:
    """POST /tasks/{name} for every contract, and a 404 naming the nearest contract for any other name."""
    for contract in contracts:
        api.add_api_route(
            f"/tasks/{contract.name}",
            submit_endpoint(gateway, contract),
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


def add_task_routes(api: FastAPI, gateway: TaskGateway) -> None:
    """GET /tasks/{id} (state, progress, typed result) and DELETE /tasks/{id} (cancel)."""

    @api.get("/tasks/{task_id}", response_model=TaskStatus, tags=["tasks"])
    async def task_status(task_id: str) -> TaskStatus:
        """State and latest progress of a task; once done, its typed result or its error."""
        with task_errors_as_http():
            return await gateway.read(task_id)

    @api.delete("/tasks/{task_id}", response_model=CancelAnswer, tags=["tasks"])
    async def task_cancel(task_id: str) -> CancelAnswer:
        """Cancel a task: a queued one never runs, a running one is stopped where its pool allows."""
        with task_errors_as_http():
            return await gateway.cancel(task_id)
