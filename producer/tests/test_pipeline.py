"""Pipeline pieces that need no broker: items, labels, alert arguments, per-item failures, the report."""

import datetime as dt

from celery_tasks.tasks.alert import SendAlert, SendAlertResult
from celery_tasks.tasks.crawler import CrawlFeed, CrawlFeedResult, FetchPage, FetchPageResult
from celery_tasks.tasks.etl import DailyCount, FindThresholdsResult, KeywordThreshold, MapKeywordsResult
from producer.client import producer_app
from producer.pipeline import ALERT, CRAWL, MAP, Item, Outcome, Pipeline, PipelineReport, days_ending, source_label
from producer.settings import load_producer_settings

DAY = dt.date(2026, 3, 14)


class Recorder:
    def __init__(self):
        self.events = []

    def start_stage(self, stage, total):
        self.events.append(("start", stage, total))

    def item_done(self, outcome):
        self.events.append(("item", outcome.stage, outcome.label, outcome.ok))

    def end_stage(self, stage):
        self.events.append(("end", stage))


def make_pipeline(**overrides):
    return Pipeline(producer_app(), load_producer_settings(**overrides), Recorder())


def test_source_labels_and_days():
    assert source_label("https://News.example.org/feeds/all.rss") == "news.example.org/feeds/all.rss"
    assert source_label("http://example.org/") == "example.org"
    assert len(source_label("http://example.org/" + "x" * 300)) == 100
    assert days_ending(DAY, 3) == [dt.date(2026, 3, 12), dt.date(2026, 3, 13), DAY]


def test_crawl_items_cover_feeds_and_pages():
    pipeline = make_pipeline(feeds=["http://a.example/feed.xml"], pages=["http://b.example/page.html"])
    items = pipeline.crawl_items()
    assert [(item.contract, item.label) for item in items] == [
        (CrawlFeed, "http://a.example/feed.xml"),
        (FetchPage, "http://b.example/page.html"),
    ]
    assert items[0].kwargs == {"feed_url": "http://a.example/feed.xml", "source": "a.example/feed.xml"}


def test_alerts_only_for_crossed_keywords_with_a_threshold():
    history = [DailyCount(day=DAY - dt.timedelta(days=1), count=2)]
    thresholds = FindThresholdsResult(
        day=DAY,
        keywords=[
            KeywordThreshold(keyword="rabbitmq", count=14, threshold=5.0, crossed=True, history=history),
            KeywordThreshold(keyword="kafka", count=2, threshold=6.0, crossed=False),
            KeywordThreshold(keyword="new", count=9, threshold=None, crossed=False, status="not_enough_history"),
        ],
        crossed=["rabbitmq"],
    )
    items = make_pipeline(recipients=["ops@example.com"]).alert_items(DAY, thresholds)
    assert [item.label for item in items] == ["rabbitmq"]
    assert items[0].contract is SendAlert
    assert items[0].kwargs == {
        "keyword": "rabbitmq",
        "day": "2026-03-14",
        "count": 14,
        "threshold": 5.0,
        "history": [{"day": "2026-03-13", "count": 2}],
        "recipients": ["ops@example.com"],
    }
    SendAlert.parse_arguments(kwargs=items[0].kwargs)
    assert make_pipeline().alert_items(DAY, None) == []


def test_an_invalid_item_is_reported_and_nothing_is_sent():
    pipeline = make_pipeline()
    bad = [Item("not a url", CrawlFeed, {"feed_url": "not a url"}), Item("ftp", FetchPage, {"url": "ftp://x/y"})]
    outcomes = pipeline.run_group(CRAWL, bad)
    assert [outcome.ok for outcome in outcomes] == [False, False]
    assert outcomes[0].error.startswith("InvalidArguments: invalid arguments for crawler.crawl_feed")
    assert pipeline.reporter.events == [
        ("start", CRAWL, 2),
        ("item", CRAWL, "not a url", False),
        ("item", CRAWL, "ftp", False),
        ("end", CRAWL),
    ]


def test_report_totals():
    report = PipelineReport(day=DAY)
    report.outcomes = [
        Outcome(CRAWL, "feed", result=CrawlFeedResult(new=3, unchanged=2, failed=1)),
        Outcome(
            CRAWL,
            "page",
            result=FetchPageResult(
                status=200, final_url="u", title=None, content_hash=None, links=0, document_id=1, changed=True
            ),
        ),
        Outcome(CRAWL, "broken", error="HTTPError: 404"),
        Outcome(MAP, "d1", result=MapKeywordsResult(day=DAY, documents=4, counts={"a": 1, "b": 3})),
        Outcome(MAP, "d2", result=MapKeywordsResult(day=DAY, documents=2, counts={"a": 2})),
        Outcome(ALERT, "b", result=SendAlertResult(sent=True, duplicate=False, message_id="<m>", recipients=["x@y.z"])),
    ]
    assert report.pages_crawled == 6 and report.new_documents == 3
    assert report.documents_mapped == 6
    assert report.keyword_totals == {"a": 3, "b": 3}
    assert [o.label for o in report.failed] == ["broken"]
    assert [keyword for keyword, _ in report.alerts] == ["b"]
