"""The JSON API crawler: logs in with a session cookie, then reads one item or a listing (seed's cookie crawler)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

from consumer_crawler.crawlers.base import CrawlContext, CrawlReport, ItemResult
from consumer_crawler.crawlers.entries import EntryCrawler
from consumer_crawler.errors import ParseError
from consumer_crawler.feeds import FeedEntry, json_entry, json_items, load_json
from consumer_crawler.responses import JSON_TYPES, Fetched
from consumer_crawler.session import ApiSession
from consumer_crawler.store import DocumentDraft

Mode = Literal["document", "listing"]


class JsonApiCrawler(EntryCrawler):
    """Reads JSON from an API behind a cookie login.

    ``document`` mode stores the JSON object at the URL as one document (keyed by that
    URL). ``listing`` mode reads an item list: items carrying their text are stored
    from it, items without text have their page fetched as an HTML article (see
    :mod:`consumer_crawler.feeds` for the field names read).
    """

    kind: ClassVar[str] = "json_api"
    entry_kind: ClassVar[str] = "json_api"
    accept: ClassVar[frozenset[str]] = JSON_TYPES

    def __init__(
        self,
        context: CrawlContext,
        source: str,
        session: ApiSession,
        *,
        mode: Mode = "document",
        max_entries: int = 200,
        fetch_entries: bool = True,
        refetch_known: bool = False,
    ) -> None:
        super().__init__(
            context, source, max_entries=max_entries, fetch_entries=fetch_entries, refetch_known=refetch_known
        )
        self.session = session
        self.mode = mode
        self.generation = 0

    def prepare(self, url: str) -> None:
        """Log in, unless the process already has a session."""
        self.generation = self.session.ensure()

    def request(self, url: str) -> Fetched:
        """GET with the session cookie; on 401/403 log in again once and retry."""
        response = self.http.fetch(url, accept=self.accept, cookies=self.session.cookies)
        if response.status in (401, 403) and self.session.configured:
            self.generation = self.session.refresh(self.generation)
            response = self.http.fetch(url, accept=self.accept, cookies=self.session.cookies)
        return response

    def parse(self, response: Fetched) -> Sequence[FeedEntry]:
        """One entry for the document, or the listing's first ``max_entries`` entries."""
        data = load_json(response.content, response.url)
        items = json_items(data)
        if self.mode == "document":
            if not isinstance(data, dict) or items is not None:
                raise ParseError(
                    f"{response.url}: expected one JSON object, found a list; read listings with "
                    "crawler.crawl_feed(kind='json_api')"
                )
            return [json_entry(data, response.url)]
        if items is None:
            raise ParseError(f"{response.url}: the JSON API answered one object, not an item list")
        return [json_entry(item, response.url) for item in items[: self.max_entries]]

    def should_fetch(self, entry: FeedEntry) -> bool:
        """Only items without text of their own are fetched as pages."""
        return self.fetch_entries and not entry.text

    def process(self, item: FeedEntry, response: Fetched) -> ItemResult:
        """Store the document (document mode) or handle a listing entry."""
        if self.mode == "listing":
            return super().process(item, response)
        draft = DocumentDraft(
            url=response.url,
            source=self.source,
            kind=self.kind,
            status=response.status,
            title=item.title,
            text=item.text,
            links=item.links,
            published=item.published,
        )
        return self.save(draft)

    def report(self, response: Fetched, items: list[ItemResult]) -> CrawlReport:
        """The report, format 'json_api'."""
        return CrawlReport(response=response, items=items, format="json_api")
