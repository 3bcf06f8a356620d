"""Fixtures: the generated site on loopback, crawler settings for tests, SQLite, PostgreSQL and MariaDB stores."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from consumer_crawler.crawlers import CrawlContext
from consumer_crawler.http import HttpClient
from consumer_crawler.session import ApiSession
from consumer_crawler.settings import CrawlerSettings
from consumer_crawler.site import CrawlerTestSite
from consumer_crawler.store import DocumentStore, crawler_engine
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from task_storage import scratch_database

POSTGRES_ADMIN_URL = os.environ.get("CRAWLER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MYSQL_ADMIN_URL = os.environ.get("CRAWLER_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


def _make_settings(**overrides: object) -> CrawlerSettings:
    """Settings for tests: loopback allowed, no politeness delay, quick retries and timeouts."""
    values: dict[str, object] = {
        "allow_loopback": True,
        "politeness_delay": 0.0,
        "retries": 2,
        "backoff_base": 0.05,
        "backoff_max": 0.2,
        "read_timeout": 1.0,
        "connect_timeout": 2.0,
        "max_body_bytes": 1024 * 1024,
    }
    values.update(overrides)
    return CrawlerSettings.model_validate(values)


@pytest.fixture(scope="session")
def site() -> Iterator[CrawlerTestSite]:
    with CrawlerTestSite(days=5, per_day=3) as running:
        yield running


@pytest.fixture
def settings() -> CrawlerSettings:
    return _make_settings()


@pytest.fixture(scope="session")
def make_settings():
    """Build test settings with overrides: make_settings(retries=0)."""
    return _make_settings


@pytest.fixture
def http(settings: CrawlerSettings) -> Iterator[HttpClient]:
    with HttpClient(settings) as client:
        yield client


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A scratch PostgreSQL database for this test session, dropped at the end."""
    admin_url = make_url(POSTGRES_ADMIN_URL)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"crawler_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is needed for the storage tests: {exc}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[str]:
    """A scratch MariaDB/MySQL database (utf8mb4) for this test session, dropped at the end."""
    try:
        with scratch_database(MYSQL_ADMIN_URL, prefix="crawler_test") as url:
            yield url
    except OperationalError as exc:
        pytest.fail(f"MariaDB at {MYSQL_ADMIN_URL} is needed for the storage tests (make mariadb): {exc}")


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'crawler.db'}"
    return str(request.getfixturevalue({"postgresql": "postgres_url", "mysql": "mysql_url"}[request.param]))


@pytest.fixture
def store(database_url: str) -> Iterator[DocumentStore]:
    engine = crawler_engine(database_url)
    document_store = DocumentStore(engine)
    document_store.create_schema()
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("TRUNCATE documents RESTART IDENTITY CASCADE"))
    elif engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            connection.execute(text("TRUNCATE documents"))
    yield document_store
    engine.dispose()


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[DocumentStore]:
    engine = crawler_engine(f"sqlite:///{tmp_path / 'crawler.db'}")
    document_store = DocumentStore(engine)
    document_store.create_schema()
    yield document_store
    engine.dispose()


@pytest.fixture
def context(http: HttpClient, sqlite_store: DocumentStore) -> CrawlContext:
    return CrawlContext(http=http, store=sqlite_store)


@pytest.fixture
def api_session(site: CrawlerTestSite, http: HttpClient) -> ApiSession:
    settings = _make_settings(
        api_login_url=site.url("/api/login"), api_user=site.api_user, api_password=site.api_password
    )
    return ApiSession(http, settings)
