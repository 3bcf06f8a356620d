"""Celery's database result backend, with its connections kept open between operations, fork-safe.

Celery's ``SessionManager`` uses SQLAlchemy's ``NullPool`` in any process that has not forked:
every read and write of a result opens a new database connection (for PostgreSQL a new server
process), so a producer, the API and a solo or threads worker paid a connection per store
operation. This backend pools connections in every process (the engine options of
``stores.store_config`` apply, with ``pool_pre_ping``). A forked child (a prefork pool) drops
the pool it inherited without closing the parent's connections (SQLAlchemy's
``dispose(close=False)``) and opens its own. ``CELERY_TASKS_RESULT_POOL_CONNECTIONS=false``
keeps Celery's behaviour.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

from celery.backends.database import DatabaseBackend

_backends: weakref.WeakSet[PooledDatabaseBackend] = weakref.WeakSet()


class PooledDatabaseBackend(DatabaseBackend):  # type: ignore[misc]
    """The database result backend with pooled connections before a fork too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Celery caches an engine (with its pool) only once the process has forked; say it has.
        self.session_manager.forked = True
        _backends.add(self)

    def drop_inherited_pools(self) -> None:
        """In a forked child: forget the parent's pooled connections, leaving them open for the parent."""
        for engine in list(self.session_manager._engines.values()):
            engine.dispose(close=False)


def _after_fork_in_child() -> None:
    for backend in list(_backends):
        backend.drop_inherited_pools()


os.register_at_fork(after_in_child=_after_fork_in_child)
