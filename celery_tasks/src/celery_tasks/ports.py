"""What the contract core expects of the layer above it: a result handle, and an app that sends contracts.

The core never imports the runtime. ``Contract`` looks on its app for the methods of
``ContractRuntime`` (``celery_tasks.runtime.app.ContractApp`` implements them); on a plain
Celery app it falls back to Celery's own ``Task.apply_async`` with the contract headers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from celery_tasks.models import ContractResult

#: A bound ``Contract`` task (typed loosely: this module sits below ``contract`` and never imports it).
ContractTask = Any

ResultT_co = TypeVar("ResultT_co", bound=ContractResult, covariant=True)


class ResultHandle(Protocol[ResultT_co]):
    """A sent task's handle: ``get()`` returns the contract's result model."""

    @property
    def id(self) -> str:
        """The task id."""

    @property
    def state(self) -> str:
        """The task's Celery state."""

    @property
    def progress(self) -> Any:
        """The latest reported progress as the contract's Progress model, or None."""

    def get(self, timeout: float | None = None, propagate: bool = True, **kwargs: Any) -> ResultT_co:
        """Wait for the result, as the contract's result model."""

    async def aget(self, timeout: float | None = None) -> ResultT_co:
        """Await the result without blocking the event loop."""

    def ready(self) -> bool:
        """Whether the task has finished."""


class ContractRuntime(Protocol):
    """The send and result methods a contract app offers its contracts (duck typed: looked up by name)."""

    def send_contract(self, task: ContractTask, arguments: BaseModel, options: dict[str, Any]) -> ResultHandle[Any]:
        """Publish one validated call; ``options`` are apply_async's (task_id, link, headers, ...)."""

    def send_contract_many(
        self, task: ContractTask, calls: Iterable[Any], window: int, options: Mapping[str, Any]
    ) -> list[ResultHandle[Any]]:
        """Validate every call, then publish them all with batched confirms."""

    async def asend_contract(
        self, task: ContractTask, arguments: BaseModel, options: dict[str, Any]
    ) -> ResultHandle[Any]:
        """Publish one validated call without blocking the event loop."""

    def contract_result(self, task: ContractTask, task_id: str, **kwargs: Any) -> ResultHandle[Any]:
        """The typed handle of a task id."""
