"""The crawler template: every crawler prepares, requests, parses and stores in the same order.

:meth:`Crawler.crawl` is the template method. Subclasses say which content types they
read (``accept``), how to turn a response into items (:meth:`Crawler.parse`) and what
to do with each item (:meth:`Crawler.process`); they may hook :meth:`Crawler.prepare`
(log in, say) and :meth:`Crawler.request` (add a session). An error status (4xx) ends
the crawl with no items; refusals and exhausted retries raise a CrawlerError.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Generic, Literal, TypeVar

from consumer_crawler.http import HttpClient
from consumer_crawler.responses import Fetched
from consumer_crawler.store import DocumentDraft, DocumentStore, StoredDocument

ItemT = TypeVar("ItemT")
ItemOutcome = Literal["new", "updated", "unchanged", "failed"]


@dataclass(frozen=True)
class ItemResult:
    """What happened to one item of a crawl."""

    url: str | None
    outcome: ItemOutcome
    document: StoredDocument | None = None
    document_id: int | None = None
    title: str | None = None
    links: int = 0
    error: str | None = None


@dataclass(frozen=True)
class CrawlReport:
    """The response a crawl read and the outcome of each of its items."""

    response: Fetched
    items: list[ItemResult] = field(default_factory=list)
    format: str | None = None
    title: str | None = None

    def count(self, outcome: ItemOutcome) -> int:
        """How many items ended with ``outcome``."""
        return sum(1 for item in self.items if item.outcome == outcome)


@dataclass(frozen=True)
class CrawlContext:
    """What a crawler works with: the HTTP client and the document store."""

    http: HttpClient
    store: DocumentStore


class Crawler(ABC, Generic[ItemT]):
    """Template of every crawler: prepare, request, parse, process each item, report."""

    #: The Document.kind written by this crawler.
    kind: ClassVar[str]
    #: Media types this crawler reads (entries starting with '+' match a suffix such as +json).
    accept: ClassVar[frozenset[str]]

    def __init__(self, context: CrawlContext, source: str) -> None:
        self.context = context
        self.source = source
        #: Called with (items done, items in all) after each item (a task's progress report).
        self.on_progress: Callable[[int, int], None] | None = None

    @property
    def http(self) -> HttpClient:
        """The shared HTTP client."""
        return self.context.http

    @property
    def store(self) -> DocumentStore:
        """The document store."""
        return self.context.store

    def crawl(self, url: str) -> CrawlReport:
        """The template method: prepare, request, parse, then process each item."""
        self.prepare(url)
        response = self.request(url)
        if not response.ok:
            return CrawlReport(response=response)
        items = self.parse(response)
        done: list[ItemResult] = []
        for item in items:
            done.append(self.process(item, response))
            if self.on_progress is not None:
                self.on_progress(len(done), len(items))
        return self.report(response, done)

    def prepare(self, url: str) -> None:
        """Hook run before the request (for example a login); nothing by default."""

    def request(self, url: str) -> Fetched:
        """Fetch ``url`` with the shared client, reading only ``accept`` content types."""
        return self.http.fetch(url, accept=self.accept)

    @abstractmethod
    def parse(self, response: Fetched) -> Sequence[ItemT]:
        """The items of a response."""

    @abstractmethod
    def process(self, item: ItemT, response: Fetched) -> ItemResult:
        """Store one item (and fetch what it links to, if needed)."""

    def report(self, response: Fetched, items: list[ItemResult]) -> CrawlReport:
        """The crawl's report; crawlers add their format and title."""
        return CrawlReport(response=response, items=items)

    def save(self, draft: DocumentDraft, fetched_at: dt.datetime | None = None) -> ItemResult:
        """Store a draft and describe the outcome."""
        stored = self.store.save(draft, fetched_at)
        return ItemResult(
            url=stored.url,
            outcome=stored.outcome,
            document=stored,
            document_id=stored.id,
            title=draft.title,
            links=draft.links,
        )
