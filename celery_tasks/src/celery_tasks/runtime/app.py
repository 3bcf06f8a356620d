"""The Celery application class that knows its contracts and its settings."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import celery

from celery_tasks import topology
from celery_tasks.runtime import async_client, sending
from celery_tasks.runtime.config import celery_config
from celery_tasks.runtime.connectivity import one_off_connection
from celery_tasks.runtime.results import TypedAsyncResult, handle_of
from celery_tasks.runtime.upstream.backends import POOLED_DATABASE_BACKEND, RPC_BACKEND, use_backend_class
from celery_tasks.runtime.upstream.consumer import DeclareTopology
from celery_tasks.runtime.upstream.rpc import DeferredAcks, DeferredAcksStep
from celery_tasks.settings import TaskSettings

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from pydantic import BaseModel

    from celery_tasks.contract import Contract


class ContractApp(celery.Celery):  # type: ignore[misc]
    """A Celery app serving or calling a fixed set of contracts, one queue each.

    It implements ``celery_tasks.ports.ContractRuntime``: the contracts registered in it send
    through ``send_contract`` and read results through ``contract_result``.
    """

    def __init__(self, contracts: Sequence[type[Contract[Any, Any]]], settings: TaskSettings, **kwargs: Any) -> None:
        super().__init__(kwargs.pop("main", "celery_tasks"), set_as_current=False, **kwargs)
        self.settings = settings
        self.contracts: dict[str, type[Contract[Any, Any]]] = {}
        self._declared: set[str] = set()
        self._declare_lock = threading.Lock()
        self.conf.update(celery_config(settings))
        if settings.result_backend.startswith("rpc://"):
            use_backend_class(self, RPC_BACKEND)  # rpc:// without a queue declaration per sent task
        elif settings.result_backend.startswith("db+") and settings.result_pool_connections:
            # Celery's database backend with pooled connections (see database_store.py); it reads database_url.
            self.conf.database_url = settings.result_backend.removeprefix("db+")
            use_backend_class(self, POOLED_DATABASE_BACKEND)
        queues = [topology.task_queue(contract.name, settings.delivery_limit) for contract in contracts]
        self.conf.task_queues = queues
        self.conf.task_default_queue = queues[0].name if queues else "celery"
        for contract in contracts:
            self.contracts[contract.name] = contract
        self.steps["consumer"].add(DeclareTopology)
        self.steps["consumer"].add(DeferredAcksStep)
        self.deferred_acks: DeferredAcks | None = None

    @property
    def max_payload_bytes(self) -> int:
        """Largest JSON payload a producer may send."""
        return self.settings.max_payload_bytes

    @property
    def consumer_check_after(self) -> float:
        """Seconds a caller waits for a result before checking the queue has consumers."""
        return self.settings.consumer_check_after

    @property
    def no_consumer_timeout(self) -> float:
        """Seconds a queue may go without consumers before get() gives up."""
        return self.settings.no_consumer_timeout

    def declare_topology_once(self, name: str) -> None:
        """Declare a contract's queues and dead-letter pair the first time this app uses it."""
        if name in self._declared:
            return
        with self._declare_lock:
            if name in self._declared:
                return
            with one_off_connection(self) as connection:
                connection.ensure_connection(max_retries=self.settings.publish_retries)
                topology.declare(connection.default_channel, name, self.settings.delivery_limit)
            self._declared.add(name)

    def consumer_count(self, queue_name: str) -> int:
        """Consumers currently attached to a queue (0 when it does not exist)."""
        with one_off_connection(self) as connection:
            counts = topology.queue_counts(connection.default_channel, queue_name)
            return counts.consumers if counts else 0

    def send_contract(
        self, task: Contract[Any, Any], arguments: BaseModel, options: dict[str, Any]
    ) -> TypedAsyncResult[Any]:
        """Publish one validated call (see sending.py)."""
        return sending.send_contract(task, arguments, options)

    def send_contract_many(
        self, task: Contract[Any, Any], calls: Iterable[Any], window: int, options: Mapping[str, Any]
    ) -> list[TypedAsyncResult[Any]]:
        """Validate every call, then publish them all with batched confirms (see bulk.py)."""
        return sending.send_many(task, calls, window, options)

    async def asend_contract(
        self, task: Contract[Any, Any], arguments: BaseModel, options: dict[str, Any]
    ) -> TypedAsyncResult[Any]:
        """Publish one validated call on a worker thread (see async_client.py)."""
        return await async_client.send_validated(task, arguments, options)

    def contract_result(self, task: Contract[Any, Any], task_id: str, **kwargs: Any) -> TypedAsyncResult[Any]:
        """The typed handle of a task id."""
        return handle_of(task, task_id, **kwargs)
