"""Shared handling of feed and listing entries: skip known ones, fetch or store the rest."""

from __future__ import annotations

import logging
from typing import ClassVar

from consumer_crawler.crawlers.article import ArticleCrawler
from consumer_crawler.crawlers.base import CrawlContext, Crawler, ItemResult
from consumer_crawler.errors import CrawlerError
from consumer_crawler.feeds import FeedEntry
from consumer_crawler.responses import Fetched
from consumer_crawler.store import DocumentDraft

logger = logging.getLogger(__name__)


class EntryCrawler(Crawler[FeedEntry]):
    """A crawler whose items are entries pointing at documents (feeds, API listings).

    An entry already stored is ``unchanged`` and not fetched again, unless
    ``refetch_known``. Otherwise its page is fetched with the :class:`ArticleCrawler`
    (``fetch_entries``) or its own content from the listing is stored. An entry that
    fails (refused, disallowed, error status, ...) counts as ``failed`` with its reason;
    the other entries go on.
    """

    entry_kind: ClassVar[str] = "feed_entry"

    def __init__(
        self,
        context: CrawlContext,
        source: str,
        *,
        max_entries: int = 200,
        fetch_entries: bool = True,
        refetch_known: bool = False,
    ) -> None:
        super().__init__(context, source)
        self.max_entries = max_entries
        self.fetch_entries = fetch_entries
        self.refetch_known = refetch_known

    def should_fetch(self, entry: FeedEntry) -> bool:
        """Whether the entry's page is fetched (rather than its listed content stored)."""
        return self.fetch_entries

    def process(self, item: FeedEntry, response: Fetched) -> ItemResult:
        """Skip, fetch or store one entry."""
        if item.url is None:
            return ItemResult(url=None, outcome="failed", title=item.title, error="entry has no link")
        known = self.store.find(item.url)
        if known is not None and not self.refetch_known:
            return ItemResult(url=item.url, outcome="unchanged", document_id=known, title=item.title)
        if not self.should_fetch(item):
            draft = DocumentDraft(
                url=item.url,
                source=self.source,
                kind=self.entry_kind,
                status=response.status,
                title=item.title,
                text=item.text or item.title or "",
                links=item.links,
                published=item.published,
            )
            return self.save(draft)
        page = ArticleCrawler(self.context, self.source, entry_title=item.title, entry_published=item.published)
        try:
            report = page.crawl(item.url)
        except CrawlerError as exc:
            logger.info("entry %s failed: %s", item.url, exc)
            return ItemResult(url=item.url, outcome="failed", title=item.title, error=f"{type(exc).__name__}: {exc}")
        if not report.items:
            error = f"HTTP {report.response.status} from {report.response.url}"
            return ItemResult(url=item.url, outcome="failed", title=item.title, error=error)
        return report.items[0]
