"""Crawler contracts: fetch one page, or read a feed and fetch its new entries."""

from __future__ import annotations

from typing import Literal

from pydantic import AnyHttpUrl, Field

from celery_tasks.contract import Contract
from celery_tasks.models import ContractArgs, ContractResult

IMPLEMENTED_BY = "the consumer-crawler service"


class FetchPageArgs(ContractArgs):
    """The page to fetch and how to read it."""

    url: AnyHttpUrl
    source: str = Field("web", min_length=1, max_length=100, description="Label of the site or source.")
    kind: Literal["article", "json_api"] = "article"


class FetchPageResult(ContractResult):
    """What was fetched and stored."""

    status: int
    final_url: str
    title: str | None
    content_hash: str | None
    links: int
    document_id: int | None
    changed: bool


class FetchPage(Contract[FetchPageArgs, FetchPageResult]):
    """Fetch one URL, parse it, and store the document (one row per normalised URL)."""

    name = "crawler.fetch_page"
    version = 1
    implemented_by = IMPLEMENTED_BY
    Args = FetchPageArgs
    Result = FetchPageResult


class CrawlFeedArgs(ContractArgs):
    """The feed to read."""

    feed_url: AnyHttpUrl
    source: str = Field("feed", min_length=1, max_length=100)
    kind: Literal["auto", "rss", "atom", "json"] = "auto"
    max_entries: int = Field(200, ge=1, le=10_000)


class CrawlFeedResult(ContractResult):
    """Counts of entries by outcome."""

    new: int
    unchanged: int
    failed: int
    document_ids: list[int] = Field(default_factory=list)


class CrawlFeed(Contract[CrawlFeedArgs, CrawlFeedResult]):
    """Read an RSS, Atom or JSON feed, fetch its new entries and store them."""

    name = "crawler.crawl_feed"
    version = 1
    implemented_by = IMPLEMENTED_BY
    Args = CrawlFeedArgs
    Result = CrawlFeedResult


CONTRACTS = (FetchPage, CrawlFeed)
