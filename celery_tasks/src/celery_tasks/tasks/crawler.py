"""Crawler contracts: fetch one page, or read a feed and fetch its new entries.

Implemented by the consumer-crawler service. Every document is stored once per
normalised URL (lowercase scheme and host, no fragment, no default port, sorted
query), so sending the same task twice updates one row and never duplicates it.
Refusals (forbidden addresses, robots.txt, oversized bodies, wrong content types,
too many redirects, servers still failing after the retries) fail the task, which
is then parked in ``<queue>.dlq`` with the reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AnyHttpUrl, Field

from celery_tasks.contract import Contract
from celery_tasks.models import ContractArgs, ContractProgress, ContractResult

IMPLEMENTED_BY = "the consumer-crawler service"

#: What happened to a document: stored for the first time, content changed, same content, or not stored.
Outcome = Literal["new", "updated", "unchanged", "not_stored"]


class FetchPageArgs(ContractArgs):
    """The page to fetch and how to read it."""

    url: AnyHttpUrl
    source: str = Field("web", min_length=1, max_length=100, description="Label of the site or source.")
    kind: Literal["article", "json_api"] = Field(
        "article",
        description="'article': an HTML page; 'json_api': one JSON item, read after the configured cookie login.",
    )


class FetchPageResult(ContractResult):
    """What was fetched and stored."""

    status: int = Field(description="HTTP status of the final response.")
    final_url: str = Field(description="URL after redirects.")
    title: str | None
    content_hash: str | None = Field(description="sha256 of the normalised text; None when nothing was stored.")
    links: int = Field(description="Distinct http(s) links on the page.")
    document_id: int | None = Field(description="Row id of the stored document; None for an error status.")
    changed: bool = Field(description="True when the document is new or its content hash changed.")
    outcome: Outcome = "not_stored"
    day: dt.date | None = Field(None, description="Publication day (UTC), else the fetch day.")
    redirects: int = Field(0, ge=0, description="Redirect hops followed.")


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
    kind: Literal["auto", "rss", "atom", "json", "json_api"] = Field(
        "auto",
        description="'auto' detects RSS, Atom or JSON Feed; 'json_api' reads an item list after the cookie login.",
    )
    max_entries: int = Field(200, ge=1, le=10_000)
    fetch_entries: bool = Field(
        True, description="Fetch each new entry's page; False stores the entry's own content from the feed."
    )
    refetch_known: bool = Field(False, description="Also fetch entries already stored, to pick up edits.")


class CrawlFeedResult(ContractResult):
    """Counts of entries by outcome."""

    new: int
    unchanged: int
    failed: int
    updated: int = 0
    entries: int = Field(0, description="Entries read from the feed (after max_entries).")
    document_ids: list[int] = Field(default_factory=list)
    feed_format: str | None = Field(None, description="rss20, atom10, jsonfeed, json_api, ...")
    feed_title: str | None = None
    errors: list[str] = Field(default_factory=list, description="Why entries failed (at most 20).")


class CrawlFeedProgress(ContractProgress):
    """Entries handled so far, out of the entries the feed lists (up to max_entries)."""

    entries_done: int = Field(ge=0)
    entries_total: int = Field(ge=0)


class CrawlFeed(Contract[CrawlFeedArgs, CrawlFeedResult]):
    """Read an RSS, Atom or JSON feed, fetch its new entries and store them."""

    name = "crawler.crawl_feed"
    version = 1
    implemented_by = IMPLEMENTED_BY
    Args = CrawlFeedArgs
    Progress = CrawlFeedProgress
    Result = CrawlFeedResult


CONTRACTS = (FetchPage, CrawlFeed)
