"""The generic HTML article crawler: one page, one document."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import ClassVar

from consumer_crawler.crawlers.base import CrawlContext, Crawler, ItemResult
from consumer_crawler.parsing import ParsedPage, parse_html
from consumer_crawler.responses import HTML_TYPES, Fetched
from consumer_crawler.store import DocumentDraft


class ArticleCrawler(Crawler[ParsedPage]):
    """Fetches an HTML page and stores its title, text, link count and publication day.

    The document is keyed by the final URL (after redirects). When the page comes from a
    feed, the entry's publication date wins over the page's and the entry's title is
    used when the page has none.
    """

    kind: ClassVar[str] = "article"
    accept: ClassVar[frozenset[str]] = HTML_TYPES

    def __init__(
        self,
        context: CrawlContext,
        source: str,
        *,
        entry_title: str | None = None,
        entry_published: dt.datetime | None = None,
    ) -> None:
        super().__init__(context, source)
        self.entry_title = entry_title
        self.entry_published = entry_published

    def parse(self, response: Fetched) -> Sequence[ParsedPage]:
        """The page's title, text, links and date."""
        return [parse_html(response.text, response.url)]

    def process(self, item: ParsedPage, response: Fetched) -> ItemResult:
        """Store the page under its final URL."""
        draft = DocumentDraft(
            url=response.url,
            source=self.source,
            kind=self.kind,
            status=response.status,
            title=item.title or self.entry_title,
            text=item.text,
            links=item.links,
            published=self.entry_published or item.published,
        )
        return self.save(draft)
