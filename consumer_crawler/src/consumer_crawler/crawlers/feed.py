"""The feed crawler: RSS and Atom (feedparser) and JSON Feed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

from consumer_crawler.crawlers.base import CrawlContext, CrawlReport, ItemResult
from consumer_crawler.crawlers.entries import EntryCrawler
from consumer_crawler.errors import ParseError
from consumer_crawler.feeds import FeedEntry, ParsedFeed, looks_like_json, parse_json_feed, parse_xml_feed
from consumer_crawler.responses import FEED_TYPES, Fetched

FeedFormat = Literal["auto", "rss", "atom", "json"]


class FeedCrawler(EntryCrawler):
    """Reads a feed and handles its entries (see :class:`EntryCrawler`).

    ``feed_format`` 'auto' reads JSON (JSON Feed or an item list) when the body is JSON,
    else RSS or Atom; 'rss', 'atom' and 'json' insist on that format.
    """

    kind: ClassVar[str] = "feed"
    accept: ClassVar[frozenset[str]] = FEED_TYPES

    def __init__(
        self,
        context: CrawlContext,
        source: str,
        *,
        feed_format: FeedFormat = "auto",
        max_entries: int = 200,
        fetch_entries: bool = True,
        refetch_known: bool = False,
    ) -> None:
        super().__init__(
            context, source, max_entries=max_entries, fetch_entries=fetch_entries, refetch_known=refetch_known
        )
        self.feed_format = feed_format
        self.feed: ParsedFeed | None = None

    def parse(self, response: Fetched) -> Sequence[FeedEntry]:
        """The feed's first ``max_entries`` entries."""
        if self.feed_format == "json" or (
            self.feed_format == "auto" and looks_like_json(response.content, response.media_type)
        ):
            feed = parse_json_feed(response.content, response.url, require_jsonfeed=self.feed_format == "json")
        else:
            feed = parse_xml_feed(response.content, response.url, response.content_type)
            if self.feed_format in ("rss", "atom") and not feed.format.startswith(self.feed_format):
                raise ParseError(f"{response.url}: expected an {self.feed_format} feed, found {feed.format}")
        self.feed = feed
        return feed.entries[: self.max_entries]

    def report(self, response: Fetched, items: list[ItemResult]) -> CrawlReport:
        """The report with the feed's format and title."""
        feed = self.feed
        return CrawlReport(
            response=response,
            items=items,
            format=feed.format if feed else None,
            title=feed.title if feed else None,
        )
