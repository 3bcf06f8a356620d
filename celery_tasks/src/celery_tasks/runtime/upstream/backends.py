"""Celery result-backend internals: the backend class an app uses, and the record layout of a stored result."""

from __future__ import annotations

from typing import Any

from celery import states

#: rpc:// without a queue declaration per sent task (see rpc.py).
RPC_BACKEND = "celery_tasks.runtime.upstream.rpc:ContractRPCBackend"
#: Celery's database backend with pooled connections (see database_store.py).
POOLED_DATABASE_BACKEND = "celery_tasks.runtime.upstream.database_store:PooledDatabaseBackend"


def use_backend_class(app: Any, path: str) -> None:
    """``Celery.backend_cls``: the class the app builds its result backend from (the URL stays the scheme's)."""
    app.backend_cls = path


def success_meta(backend: Any, result: Any) -> dict[str, Any]:
    """``backend._get_result_meta``: the stored form of a SUCCESS result, as ``store_result`` writes it."""
    meta: dict[str, Any] = backend._get_result_meta(result=result, state=states.SUCCESS, traceback=None, request=None)
    return meta


def fill_success_row(backend: Any, row: Any, result: Any) -> None:
    """``DatabaseBackend._update_result``: fill a task row's columns as ``store_result`` fills them."""
    backend._update_result(row, result, states.SUCCESS)
