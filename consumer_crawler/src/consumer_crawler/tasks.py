"""Implementations of the crawler contracts."""

from __future__ import annotations

from celery_tasks.tasks import crawler

from consumer_crawler.crawlers import ArticleCrawler, CrawlReport, FeedCrawler, JsonApiCrawler
from consumer_crawler.errors import HttpStatusError
from consumer_crawler.runtime import get_runtime

MAX_ERRORS = 20


def page_result(report: CrawlReport) -> crawler.FetchPageResult:
    """The contract's result for a one-document crawl."""
    response = report.response
    item = report.items[0] if report.items else None
    document = item.document if item else None
    return crawler.FetchPageResult(
        status=response.status,
        final_url=response.url,
        title=item.title if item else None,
        content_hash=document.content_hash if document else None,
        links=item.links if item else 0,
        document_id=document.id if document else None,
        changed=document.changed if document else False,
        outcome=document.outcome if document else "not_stored",
        day=document.day if document else None,
        redirects=len(response.redirects),
    )


def feed_result(report: CrawlReport) -> crawler.CrawlFeedResult:
    """The contract's result for a feed or listing crawl."""
    errors = [f"{item.url or '(no link)'}: {item.error}" for item in report.items if item.error]
    return crawler.CrawlFeedResult(
        new=report.count("new"),
        updated=report.count("updated"),
        unchanged=report.count("unchanged"),
        failed=report.count("failed"),
        entries=len(report.items),
        document_ids=[item.document_id for item in report.items if item.document_id is not None],
        feed_format=report.format,
        feed_title=report.title,
        errors=errors[:MAX_ERRORS],
    )


class FetchPage(crawler.FetchPage):
    """Fetch one HTML page (or one JSON API item) and store it."""

    def run(self, args: crawler.FetchPageArgs) -> crawler.FetchPageResult:
        """Crawl the URL; an error status (4xx) is returned with nothing stored."""
        runtime = get_runtime()
        if args.kind == "json_api":
            report = JsonApiCrawler(runtime.context, args.source, runtime.session, mode="document").crawl(str(args.url))
        else:
            report = ArticleCrawler(runtime.context, args.source).crawl(str(args.url))
        return page_result(report)


class CrawlFeed(crawler.CrawlFeed):
    """Read a feed or a JSON API listing and store its new entries."""

    def run(self, args: crawler.CrawlFeedArgs) -> crawler.CrawlFeedResult:
        """Crawl the feed; a feed answering an error status fails the task."""
        runtime = get_runtime()
        url = str(args.feed_url)
        crawler_: JsonApiCrawler | FeedCrawler
        if args.kind == "json_api":
            crawler_ = JsonApiCrawler(
                runtime.context,
                args.source,
                runtime.session,
                mode="listing",
                max_entries=args.max_entries,
                fetch_entries=args.fetch_entries,
                refetch_known=args.refetch_known,
            )
        else:
            crawler_ = FeedCrawler(
                runtime.context,
                args.source,
                feed_format=args.kind,
                max_entries=args.max_entries,
                fetch_entries=args.fetch_entries,
                refetch_known=args.refetch_known,
            )
        crawler_.on_progress = lambda done, total: self.report_progress(entries_done=done, entries_total=total)
        report = crawler_.crawl(url)
        if not report.response.ok:
            raise HttpStatusError(f"feed {report.response.url} answered HTTP {report.response.status}")
        return feed_result(report)


CONTRACTS = (FetchPage, CrawlFeed)
