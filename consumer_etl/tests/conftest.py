"""Fixtures: an empty database per test, on SQLite and on the machine's PostgreSQL and MariaDB."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.exc import OperationalError

from task_storage import Base, Document, create_schema, make_engine, scratch_database

POSTGRES_ADMIN_URL = os.environ.get("ETL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MYSQL_ADMIN_URL = os.environ.get("ETL_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
_serial = itertools.count()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A scratch PostgreSQL database for the whole run, dropped at the end."""
    try:
        with scratch_database(POSTGRES_ADMIN_URL, prefix="etl_test") as url:
            yield url
    except OperationalError as exc:
        pytest.fail(f"PostgreSQL is needed at {POSTGRES_ADMIN_URL} (ETL_TEST_POSTGRES_URL): {exc}")


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[str]:
    """A scratch MariaDB/MySQL database (utf8mb4) for the whole run, dropped at the end."""
    try:
        with scratch_database(MYSQL_ADMIN_URL, prefix="etl_test") as url:
            yield url
    except OperationalError as exc:
        pytest.fail(f"MariaDB is needed at {MYSQL_ADMIN_URL} (ETL_TEST_MYSQL_URL, make mariadb): {exc}")


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on empty shared tables: a SQLite file, or the scratch PostgreSQL or MariaDB database."""
    if request.param == "sqlite":
        database = make_engine(f"sqlite:///{tmp_path / 'etl.db'}")
    else:
        database = make_engine(
            request.getfixturevalue({"postgresql": "postgres_url", "mysql": "mysql_url"}[request.param])
        )
        Base.metadata.drop_all(database)
    create_schema(database)
    yield database
    if request.param != "sqlite":
        Base.metadata.drop_all(database)
    database.dispose()


def add_documents(engine: Engine, day: dt.date, texts: Sequence[str], titles: Sequence[str | None] = ()) -> None:
    """Store one document per text on ``day``, as the crawler would."""
    titled = list(titles) + [None] * (len(texts) - len(titles))
    rows = [
        {
            "url": f"https://example.test/{day.isoformat()}/{next(_serial)}",
            "source": "test",
            "kind": "article",
            "status": 200,
            "title": title,
            "text": text,
            "day": day,
            "fetched_at": dt.datetime.now(dt.UTC),
        }
        for text, title in zip(texts, titled, strict=True)
    ]
    if rows:
        with engine.begin() as connection:
            connection.execute(insert(Document), rows)


def write_keywords(path: Path, keywords: dict[str, list[str]]) -> Path:
    """Write a keywords file in the ETL_KEYWORDS_FILE format."""
    path.write_text(
        json.dumps({"keywords": [{"keyword": k, "aliases": a} for k, a in keywords.items()]}), encoding="utf-8"
    )
    return path


@pytest.fixture
def seed() -> object:
    """The add_documents helper, for tests (conftest modules cannot be imported by name)."""
    return add_documents


@pytest.fixture
def keywords_path(tmp_path: Path) -> object:
    """A helper writing a keywords file in the test's directory: keywords_path({"kw": ["alias"]})."""

    def write(keywords: dict[str, list[str]], name: str = "keywords.json") -> Path:
        return write_keywords(tmp_path / name, keywords)

    return write
