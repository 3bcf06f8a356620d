"""Result stores any process can read: Redis and a SQLAlchemy database, next to the sender-only rpc://.

``rpc://`` sends each result to a reply queue of the thread that sent the task, so only
that thread can read it. ``redis://`` and ``db+postgresql+psycopg://`` keep results (and
progress, and cancellations) in a store every process reads: any API replica, a restarted
one, another thread. This module holds their Celery options, the clear error when the
store is down, and the *submitted record*: the contract name of a task, written when it
is sent, so that a process that did not send it can read its result typed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import redis.exceptions
import sqlalchemy
import sqlalchemy.exc
from celery import states
from celery.backends.database import session_cleanup
from celery.exceptions import BackendGetMetaError, BackendStoreError

from celery_tasks.errors import ResultStoreUnavailable
from celery_tasks.runtime.upstream.backends import fill_success_row, success_meta
from celery_tasks.settings import TaskSettings

logger = logging.getLogger(__name__)

SHARED_SCHEMES = ("redis", "rediss", "db+")
#: Prefix of the pseudo task id under which a task's submitted record is kept.
SUBMITTED_PREFIX = "submitted-"
#: Submitted records written per pipeline or transaction by ``record_submitted_many``.
RECORD_BATCH = 1000


def is_shared(url: str) -> bool:
    """Whether a result backend URL names a store every process can read (not rpc://)."""
    scheme = urlsplit(url).scheme
    return scheme.startswith(SHARED_SCHEMES)


def store_kind(url: str) -> str:
    """'rpc', 'redis' or 'database' (anything else is named by its scheme)."""
    scheme = urlsplit(url).scheme
    if scheme.startswith("redis"):
        return "redis"
    if scheme.startswith("db+"):
        return "database"
    return scheme or "unknown"


def polled(url: str) -> bool:
    """Whether a waiting .get() must read the store again and again (a database; Redis pushes results)."""
    return store_kind(url) == "database"


def store_config(settings: TaskSettings) -> dict[str, Any]:
    """Celery options for the configured result store: expiry, bounded timeouts and retries."""
    config: dict[str, Any] = {"result_expires": int(settings.result_expires)}
    if not is_shared(settings.result_backend):
        return config
    config.update(
        {
            # STARTED is stored, so any process sees that a worker took the task.
            "task_track_started": True,
            "result_backend_transport_options": {
                "retry_policy": {
                    "max_retries": settings.publish_retries,
                    "interval_start": 0.1,
                    "interval_step": 0.5,
                    "interval_max": 1.0,
                }
            },
            "redis_socket_connect_timeout": settings.connect_timeout,
            "redis_socket_timeout": max(settings.connect_timeout, 10.0),
            "redis_retry_on_timeout": True,
            "redis_backend_health_check_interval": 30,
            "database_engine_options": {"pool_pre_ping": True, "connect_args": _db_connect_args(settings)},
            "database_short_lived_sessions": False,
            "database_create_tables_at_setup": False,  # a database that is down must not stop a send
        }
    )
    return config


def _db_connect_args(settings: TaskSettings) -> dict[str, Any]:
    """psycopg's connect timeout, so a database that is down fails fast."""
    if "postgresql" in urlsplit(settings.result_backend).scheme:
        return {"connect_timeout": max(1, int(settings.connect_timeout))}
    return {}


#: Exceptions that mean the store is unreachable.
STORE_ERRORS = (
    ConnectionError,
    TimeoutError,
    redis.exceptions.RedisError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    BackendStoreError,
    BackendGetMetaError,
)


def unavailable(settings: TaskSettings, exc: BaseException, doing: str) -> ResultStoreUnavailable:
    """A ResultStoreUnavailable naming the store (password hidden) and the cause."""
    url = settings.result_backend
    while isinstance(exc, BackendStoreError | BackendGetMetaError) and (exc.__cause__ or exc.__context__):
        exc = exc.__cause__ or exc.__context__  # Celery's wrapper says less than what it wraps
    cause = f"{type(exc).__name__}: {exc}"
    password = urlsplit(url).password
    if password and len(password) >= 3:
        cause = cause.replace(password, "***")
    first_line = cause.splitlines()[0] if cause else cause
    return ResultStoreUnavailable(
        f"{doing}: the result store at {settings.redacted_result_backend()} is unreachable ({first_line}). "
        "Check that it runs and CELERY_TASKS_RESULT_BACKEND"
    )


@contextmanager
def store_errors(settings: TaskSettings | None, doing: str) -> Iterator[None]:
    """Re-raise the store's connection failures inside the block as ResultStoreUnavailable."""
    if settings is None or not is_shared(settings.result_backend):
        yield
        return
    try:
        yield
    except ResultStoreUnavailable:
        raise
    except STORE_ERRORS as exc:
        raise unavailable(settings, exc, doing) from None
    except RuntimeError as exc:  # Celery's Redis result consumer, once its reconnect fails
        if not isinstance(exc.__cause__, STORE_ERRORS):
            raise
        raise unavailable(settings, exc.__cause__, doing) from None


def _submitted(name: str) -> dict[str, str]:
    return {"name": name, "submitted_at": dt.datetime.now(dt.UTC).isoformat()}


def record_submitted(app: Any, task_id: str, name: str) -> None:
    """Keep the task's contract name in the shared store (no-op on rpc://), expiring with its result."""
    if not is_shared(app.settings.result_backend):
        return
    with store_errors(app.settings, f"cannot record task {task_id}"):
        app.backend.store_result(SUBMITTED_PREFIX + task_id, _submitted(name), states.SUCCESS)


def record_submitted_many(app: Any, task_ids: Sequence[str], name: str) -> None:
    """The submitted records of many tasks of one contract, batched: one Redis pipeline, or one SQL transaction."""
    if not task_ids or not is_shared(app.settings.result_backend):
        return
    record, backend = _submitted(name), app.backend
    kind = store_kind(app.settings.result_backend)
    with store_errors(app.settings, f"cannot record {len(task_ids)} {name} tasks"):
        for start in range(0, len(task_ids), RECORD_BATCH):
            batch = [SUBMITTED_PREFIX + task_id for task_id in task_ids[start : start + RECORD_BATCH]]
            if kind == "redis":
                backend.ensure(_redis_records, (backend, batch, record))
            elif kind == "database":
                _database_records(backend, batch, record)
            else:  # another shared store: one write per task
                for key in batch:
                    backend.store_result(key, record, states.SUCCESS)


def _redis_records(backend: Any, ids: Sequence[str], record: dict[str, str]) -> None:
    """SETEX every record in one pipeline (no PUBLISH: nobody waits on a submitted record)."""
    meta = success_meta(backend, record)
    with backend.client.pipeline(transaction=False) as pipe:
        for record_id in ids:
            key, value = backend.get_key_for_task(record_id), backend.encode({**meta, "task_id": record_id})
            if backend.expires:
                pipe.setex(key, backend.expires, value)
            else:
                pipe.set(key, value)
        pipe.execute()


def _database_records(backend: Any, ids: Sequence[str], record: dict[str, str]) -> None:
    """Insert every record's row with one multi-row INSERT (the ids are new); the columns as store_result fills them."""
    template = backend.task_cls("template")
    fill_success_row(backend, template, record)
    values = {
        attribute.key: getattr(template, attribute.key)
        for attribute in sqlalchemy.inspect(backend.task_cls).column_attrs
        if attribute.key not in ("id", "task_id")
    }
    session = backend.ResultSession()
    with session_cleanup(session):
        session.execute(sqlalchemy.insert(backend.task_cls), [{**values, "task_id": record_id} for record_id in ids])
        session.commit()


def submitted_record(app: Any, task_id: str) -> dict[str, Any] | None:
    """The submitted record of a task ({name, submitted_at}), None when the store has none."""
    if not is_shared(app.settings.result_backend):
        return None
    with store_errors(app.settings, f"cannot read task {task_id}"):
        meta = app.backend.get_task_meta(SUBMITTED_PREFIX + task_id, cache=False)
    result = meta.get("result")
    if meta.get("status") != states.SUCCESS or not isinstance(result, dict):
        return None
    return result


def task_meta(app: Any, task_id: str) -> dict[str, Any]:
    """The stored state of a task, read fresh from the shared store (PENDING when absent)."""
    with store_errors(app.settings, f"cannot read task {task_id}"):
        meta: dict[str, Any] = app.backend.get_task_meta(task_id, cache=False)
    return meta
