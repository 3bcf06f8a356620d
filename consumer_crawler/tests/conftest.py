"""Fixtures: the fake news site on loopback, crawler settings for tests, the document store on each database.

The databases (``database_url``: SQLite, PostgreSQL, MariaDB) come from the devtools pytest plugin.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery_tasks_devtools.site import CrawlerTestSite
from consumer_crawler.crawlers import CrawlContext
from consumer_crawler.http import HttpClient
from consumer_crawler.session import ApiSession
from consumer_crawler.settings import CrawlerSettings
from consumer_crawler.store import DocumentStore, crawler_engine
from sqlalchemy import text


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
