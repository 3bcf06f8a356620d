"""Engines, schema, sessions and scratch databases for the shared tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from task_storage.tables import MYSQL, Base


class StorageSettings(BaseSettings):
    """Where the shared tables live."""

    model_config = SettingsConfigDict(env_prefix="CELERY_TASKS_", env_file=".env", extra="ignore", frozen=True)

    database_url: str = "sqlite:///celery_tasks.db"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    """An engine for the shared tables (WAL and a busy timeout on SQLite; utf8mb4 and READ COMMITTED on MySQL)."""
    url = url or StorageSettings().database_url
    if make_url(url).get_backend_name() in MYSQL:
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_recycle=3600,
            isolation_level="READ COMMITTED",
            connect_args={"charset": "utf8mb4"},
        )
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def create_schema(engine: Engine) -> None:
    """Create the shared tables that do not exist yet."""
    Base.metadata.create_all(engine)


@contextmanager
def scratch_database(admin_url: str, prefix: str = "scratch") -> Iterator[str]:
    """A new, empty PostgreSQL or MySQL database for tests and benchmarks, dropped on exit; yields its URL.

    ``admin_url`` is any database on the server that the user may connect to (for
    example ``postgresql+psycopg://postgres@127.0.0.1:5432/test`` or
    ``mysql+pymysql://root@127.0.0.1:3306/test``).
    """
    base = make_url(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    on_mysql = base.get_backend_name() in MYSQL
    create = (
        f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        if on_mysql
        else f'CREATE DATABASE "{name}"'
    )
    drop = f"DROP DATABASE IF EXISTS `{name}`" if on_mysql else f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(create))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(drop))
    finally:
        admin.dispose()


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
