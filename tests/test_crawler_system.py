"""Crawler system tests: `consumer-crawler` as its own process behind real queues, driven by the typed API."""

from __future__ import annotations

import pytest
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks.tasks.crawler import CrawlFeed, CrawlFeedResult, FetchPage, FetchPageResult
from celery_tasks_devtools.site import CrawlerTestSite
from celery_tasks_devtools.testing import entry_point, wait_for_parked
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from celery_tasks import create_app
from task_storage import Document, make_engine

CRAWLER_QUEUES = [FetchPage.name, CrawlFeed.name]


@pytest.fixture(scope="module")
def site():
    with CrawlerTestSite(days=4, per_day=3) as running:
        yield running


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path / 'crawler-system.db'}"


@pytest.fixture
def crawler_worker(start_service, site, database_url):
    env = {
        "CRAWLER_ALLOW_LOOPBACK": "true",
        "CRAWLER_POLITENESS_DELAY": "0",
        "CRAWLER_RETRIES": "1",
        "CRAWLER_BACKOFF_BASE": "0.05",
        "CRAWLER_API_LOGIN_URL": site.url("/api/login"),
        "CRAWLER_API_USER": site.api_user,
        "CRAWLER_API_PASSWORD": site.api_password,
        "CELERY_TASKS_DATABASE_URL": database_url,
    }
    return start_service([entry_point("consumer-crawler")], CRAWLER_QUEUES, env=env)


@pytest.fixture
def producer_app(task_settings):
    return create_app(ALL_CONTRACTS, task_settings)


def stored(database_url: str) -> list[Document]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(Document).order_by(Document.id)))
    finally:
        engine.dispose()


def test_fetch_page_twice_stores_one_row(crawler_worker, producer_app, site, database_url):
    """Also: the worker runs thirty-two threads by default, follows redirects and reports error statuses."""
    assert "32 (thread)" in crawler_worker.log_text()
    fetch_page = producer_app.tasks[FetchPage.name]
    article = site.articles[0]
    first = fetch_page.delay(url=site.url(article.path), source="system").get(timeout=60)
    assert isinstance(first, FetchPageResult)
    assert (first.status, first.outcome, first.changed) == (200, "new", True)
    assert first.title == article.title
    assert first.day == article.day
    assert first.links == 3
    second = fetch_page.delay(url=site.url(article.path) + "#same-page", source="system").get(timeout=60)
    assert (second.outcome, second.changed, second.document_id) == ("unchanged", False, first.document_id)
    (row,) = stored(database_url)
    assert (row.id, row.url, row.title, row.content_hash) == (
        first.document_id,
        site.url(article.path),
        article.title,
        first.content_hash,
    )
    assert row.source == "system"
    redirected = fetch_page.delay(url=site.url("/redirect/2")).get(timeout=60)
    assert redirected.redirects == 2
    assert redirected.final_url == site.url("/redirect/0")
    missing = fetch_page.delay(url=site.url("/status/404")).get(timeout=60)
    assert (missing.status, missing.document_id, missing.outcome) == (404, None, "not_stored")


def test_crawl_feed_stores_new_entries_then_finds_them_known(crawler_worker, producer_app, site, database_url):
    crawl_feed = producer_app.tasks[CrawlFeed.name]
    first = crawl_feed.delay(feed_url=site.url("/atom.xml"), source="atom").get(timeout=120)
    assert isinstance(first, CrawlFeedResult)
    assert (first.new, first.unchanged, first.failed, first.entries) == (12, 0, 0, 12)
    assert first.feed_format == "atom10"
    second = crawl_feed.delay(feed_url=site.url("/feed.json"), kind="json").get(timeout=120)
    assert (second.new, second.unchanged, second.failed) == (0, 12, 0)
    assert sorted(second.document_ids) == sorted(first.document_ids)
    rows = stored(database_url)
    assert len(rows) == 12
    assert {row.day for row in rows} == {article.day for article in site.articles}
    mixed = crawl_feed.delay(feed_url=site.url("/feeds/mixed.xml")).get(timeout=120)
    assert (mixed.new, mixed.unchanged, mixed.failed) == (0, 1, 3)
    assert any("ForbiddenAddress" in error and "10.0.0.1" in error for error in mixed.errors)
    assert any("RobotsDisallowed" in error for error in mixed.errors)


def test_json_api_through_the_cookie_login(crawler_worker, producer_app, site, database_url):
    listing = (
        producer_app.tasks[CrawlFeed.name]
        .delay(feed_url=site.url("/api/articles?limit=5"), kind="json_api", source="api")
        .get(timeout=120)
    )
    assert (listing.new, listing.failed, listing.feed_format) == (5, 0, "json_api")
    item = producer_app.tasks[FetchPage.name].delay(url=site.url("/api/articles/2"), kind="json_api").get(timeout=60)
    assert item.status == 200 and item.outcome == "new"
    assert site.logins >= 1
    engine = make_engine(database_url)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).where(Document.kind == "json_api")) == 6
    engine.dispose()


def test_refused_fetches_fail_and_are_parked_with_the_reason(crawler_worker, producer_app, site, management, vhost):
    fetch_page = producer_app.tasks[FetchPage.name]
    metadata = fetch_page.delay(url=site.url("/redirect-to?url=http://169.254.169.254/latest/meta-data/"))
    with pytest.raises(Exception, match="refusing to connect to 169.254.169.254: cloud metadata address") as caught:
        metadata.get(timeout=60)
    assert type(caught.value).__name__ == "ForbiddenAddress"
    private = fetch_page.delay(url=site.url("/redirect-to?url=http://10.0.0.1/admin"))
    with pytest.raises(Exception, match="10.0.0.1: private address"):
        private.get(timeout=60)
    parked = wait_for_parked(management, vhost, f"{FetchPage.name}.dlq", 2)
    assert [headers["x-error-type"] for headers in parked] == ["ForbiddenAddress", "ForbiddenAddress"]
    assert "169.254.169.254" in parked[0]["x-reason"]
    assert "10.0.0.1" in parked[1]["x-reason"]
    assert {headers["id"] for headers in parked} == {metadata.id, private.id}
    # The worker goes on after the refusals.
    assert fetch_page.delay(url=site.url(site.articles[1].path)).get(timeout=60).status == 200
