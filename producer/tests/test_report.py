"""Plain progress lines and summary tables, rendered into a string."""

import datetime as dt
import io

from celery_tasks.tasks.alert import SendAlertResult
from celery_tasks.tasks.etl import FindThresholdsResult, KeywordThreshold, MapKeywordsResult
from producer.pipeline import ALERT, JUDGE, MAP, Outcome, PipelineReport
from producer.report import PlainReporter, ProgressReporter, make_reporter, print_summary, summarize
from rich.console import Console

DAY = dt.date(2026, 3, 14)


def console(terminal=False):
    return Console(file=io.StringIO(), width=120, force_terminal=terminal, color_system=None)


def test_plain_reporter_prints_each_item_and_the_tally():
    out = console()
    reporter = make_reporter(out)
    assert isinstance(reporter, PlainReporter)
    with reporter:
        reporter.start_stage(MAP, 2)
        reporter.item_done(Outcome(MAP, "2026-03-13", result=MapKeywordsResult(day=DAY, documents=4, counts={"a": 2})))
        reporter.item_done(Outcome(MAP, "2026-03-14", error="NoConsumer: queue 'etl.map_keywords' has [no] consumer"))
        reporter.end_stage(MAP)
    assert out.file.getvalue().splitlines() == [
        "map keywords: 2 items",
        "map keywords [1/2] ok 2026-03-13: 4 documents, 2 keyword mentions",
        "map keywords [2/2] FAILED 2026-03-14: NoConsumer: queue 'etl.map_keywords' has [no] consumer",
        "map keywords: 1 ok, 1 failed",
    ]


def test_a_terminal_gets_progress_bars():
    out = console(terminal=True)
    reporter = make_reporter(out)
    assert isinstance(reporter, ProgressReporter)
    with reporter:
        reporter.start_stage(ALERT, 1)
        reporter.item_done(Outcome(ALERT, "rabbitmq", error="SMTPError: refused"))
    text = out.file.getvalue()
    assert "✗ alerts rabbitmq: SMTPError: refused" in text
    assert "1/1" in text and "1 failed" in text


def test_summary_tables():
    thresholds = FindThresholdsResult(
        day=DAY,
        keywords=[KeywordThreshold(keyword="rabbitmq", count=14, threshold=5.0, crossed=True)],
        crossed=["rabbitmq"],
    )
    alert = SendAlertResult(
        sent=True, duplicate=False, message_id="<id@x>", recipients=["t@example.com"], chart_path="/c/r.png"
    )
    report = PipelineReport(day=DAY, thresholds=thresholds, elapsed=1.5)
    report.outcomes = [
        Outcome(MAP, "2026-03-13", result=MapKeywordsResult(day=DAY, documents=4, counts={"rabbitmq": 2})),
        Outcome(JUDGE, "2026-03-14", result=thresholds),
        Outcome(ALERT, "rabbitmq", result=alert),
        Outcome(ALERT, "kafka", error="SMTPError: refused"),
    ]
    out = console()
    print_summary(out, report, {"<id@x>": "/m/001.eml"})
    text = out.file.getvalue()
    assert "Pipeline for 2026-03-14 (1.5 s)" in text
    assert "Failed items" in text and "SMTPError: refused" in text
    assert "5.00" in text and "yes" in text
    assert "/c/r.png" in text and "/m/001.eml" in text
    assert summarize(alert) == "mailed to t@example.com"
    assert summarize(None) == ""
