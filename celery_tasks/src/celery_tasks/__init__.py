"""Typed task contracts on Celery and RabbitMQ: one queue per task, validated on both ends.

The contract core (``Contract``, the models, the settings) is imported eagerly. The runtime
names (``ContractApp``, ``create_app``, ``create_worker_from``, ``TypedAsyncResult``) are loaded
from ``celery_tasks.runtime`` on first use (PEP 562), so importing the core never imports the runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from celery_tasks.contract import Contract
from celery_tasks.models import ContractArgs, ContractResult
from celery_tasks.settings import TaskSettings, load_settings

if TYPE_CHECKING:  # type checkers only; this facade sits outside the layers contract (docs/architecture.md)
    from celery_tasks.runtime.app import ContractApp
    from celery_tasks.runtime.factory import create_app, create_worker_from
    from celery_tasks.runtime.results import TypedAsyncResult

#: Public names that live in the runtime layer, and their module.
_RUNTIME = {
    "ContractApp": "celery_tasks.runtime.app",
    "TypedAsyncResult": "celery_tasks.runtime.results",
    "create_app": "celery_tasks.runtime.factory",
    "create_worker_from": "celery_tasks.runtime.factory",
}

__all__ = (
    "Contract",
    "ContractApp",
    "ContractArgs",
    "ContractResult",
    "TaskSettings",
    "TypedAsyncResult",
    "create_app",
    "create_worker_from",
    "load_settings",
)


def __getattr__(name: str) -> Any:
    """Load a runtime name on first access (PEP 562)."""
    module = _RUNTIME.get(name)
    if module is None:
        raise AttributeError(f"module 'celery_tasks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
