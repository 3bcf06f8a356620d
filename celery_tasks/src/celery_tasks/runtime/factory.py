"""Build Celery apps from contracts: one queue per contract, named after it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from celery_tasks.contract import Contract
from celery_tasks.errors import ConfigurationError
from celery_tasks.runtime.app import ContractApp
from celery_tasks.runtime.upstream.request import ContractRequest
from celery_tasks.settings import TaskSettings, load_settings

ContractT = TypeVar("ContractT", bound=Contract[Any, Any])


def create_app(contracts: Sequence[type[Contract[Any, Any]]], settings: TaskSettings | None = None) -> ContractApp:
    """A Celery app with a queue per contract and every contract registered.

    Each contract class is registered through a fresh subclass, because Celery binds
    task classes to one app: two apps in one process stay independent.
    """
    if not contracts:
        raise ConfigurationError("create_app needs at least one contract")
    names = [contract.name for contract in contracts]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"contracts listed twice: {sorted(n for n in names if names.count(n) > 1)}")
    settings = settings or load_settings()
    app = ContractApp(contracts, settings)
    if settings.serializer == "auth":
        app.setup_security(
            allowed_serializers=["json"],
            key=settings.security_key,
            cert=settings.security_certificate,
            store=settings.security_cert_store,
            digest="sha256",
            serializer="json",
        )
    for contract in contracts:
        # the worker's request class is the runtime's: the core names no runtime module
        bound = type(contract.__name__, (contract,), {"__module__": contract.__module__, "Request": ContractRequest})
        app.register_task(bound())
    return app


def create_worker_from(
    task_class: type[ContractT], settings: TaskSettings | None = None
) -> tuple[ContractApp, ContractT]:
    """The app whose default queue is the task's name, and the task registered in it (seed 004)."""
    app = create_app([task_class], settings)
    task: ContractT = app.tasks[task_class.name]
    return app, task


def tasks_of(app: ContractApp) -> dict[str, Contract[Any, Any]]:
    """The contract tasks registered in an app, by name."""
    return {name: app.tasks[name] for name in app.contracts}
