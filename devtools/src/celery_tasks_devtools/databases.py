"""Database fixtures: a scratch PostgreSQL and MariaDB database per test session, and the shared tables on each.

The servers are the machine's (``make postgres``, ``make mariadb``); ``TEST_POSTGRES_URL`` and
``TEST_MYSQL_URL`` name another admin database to create the scratch databases from.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from task_storage import Base, create_schema, make_engine, scratch_database

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MYSQL_ADMIN_URL = os.environ.get("TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
#: The kinds of database every storage test runs on.
DATABASE_KINDS = ("sqlite", "postgresql", "mysql")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A scratch PostgreSQL database for the whole test session, dropped at the end."""
    try:
        with scratch_database(POSTGRES_ADMIN_URL, prefix="ct_test") as url:
            yield url
    except OperationalError as exc:
        pytest.fail(f"PostgreSQL is needed at {POSTGRES_ADMIN_URL} (TEST_POSTGRES_URL, make postgres): {exc}")


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[str]:
    """A scratch MariaDB/MySQL database (utf8mb4) for the whole test session, dropped at the end."""
    try:
        with scratch_database(MYSQL_ADMIN_URL, prefix="ct_test") as url:
            yield url
    except OperationalError as exc:
        pytest.fail(f"MariaDB is needed at {MYSQL_ADMIN_URL} (TEST_MYSQL_URL, make mariadb): {exc}")


@pytest.fixture(params=DATABASE_KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of each kind in turn: a fresh SQLite file, or the session's scratch PostgreSQL or MariaDB."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return str(request.getfixturevalue({"postgresql": "postgres_url", "mysql": "mysql_url"}[request.param]))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on empty shared tables (task_storage), on each kind of database in turn."""
    database = make_engine(database_url)
    on_server = database.dialect.name != "sqlite"
    if on_server:
        Base.metadata.drop_all(database)
    create_schema(database)
    yield database
    if on_server:
        Base.metadata.drop_all(database)
    database.dispose()
