"""The pipeline: crawl the sources, map keywords per day, find the day's thresholds, alert on crossings.

Every call goes through the typed contracts: a Celery group fans a stage out (all feeds
at once, all days at once, all alerts at once) and each item is collected with the typed
``.get()``, so a failed item is recorded and the other items carry on. The judged day is
mapped and judged in one chain (``map_keywords | find_thresholds``, both on the ETL queues).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from celery import chain, group
from celery_tasks.contract import Contract
from celery_tasks.errors import CeleryTasksError
from celery_tasks.models import ContractResult
from celery_tasks.runtime import tracing
from celery_tasks.runtime.app import ContractApp
from celery_tasks.tasks.alert import SendAlert, SendAlertResult
from celery_tasks.tasks.crawler import CrawlFeed, CrawlFeedResult, FetchPage, FetchPageResult
from celery_tasks.tasks.etl import FindThresholds, FindThresholdsResult, MapKeywords, MapKeywordsResult

from producer.settings import ProducerSettings

CRAWL = "crawl"
MAP = "map keywords"
JUDGE = "thresholds"
ALERT = "alerts"
STAGES = (CRAWL, MAP, JUDGE, ALERT)
MAX_SOURCE_LABEL = 100
PIPELINE_DAY = "celery_tasks.pipeline.day"
PIPELINE_ITEMS = "celery_tasks.pipeline.items"


@dataclass(frozen=True)
class Outcome:
    """What happened to one item of a stage: its typed result, or the error that stopped it."""

    stage: str
    label: str
    result: ContractResult | None = None
    error: str | None = None
    task_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when the item produced a result."""
        return self.error is None


@dataclass(frozen=True)
class Item:
    """One task to send: a label for the report, the contract and its keyword arguments."""

    label: str
    contract: type[Contract[Any, Any]]
    kwargs: dict[str, Any]


class Reporter(Protocol):
    """Receives the pipeline's progress (a progress bar on a terminal, plain lines otherwise)."""

    def start_stage(self, stage: str, total: int) -> None:
        """A stage begins with ``total`` items."""

    def item_done(self, outcome: Outcome) -> None:
        """One item of the current stage finished, well or badly."""

    def end_stage(self, stage: str) -> None:
        """The stage's items are all accounted for."""


@dataclass
class PipelineReport:
    """Every outcome of a run, and the questions the summary asks of them."""

    day: dt.date
    outcomes: list[Outcome] = field(default_factory=list)
    thresholds: FindThresholdsResult | None = None
    elapsed: float = 0.0

    def stage(self, stage: str) -> list[Outcome]:
        """The outcomes of one stage, in sending order."""
        return [outcome for outcome in self.outcomes if outcome.stage == stage]

    @property
    def failed(self) -> list[Outcome]:
        """Every item that failed, whatever its stage."""
        return [outcome for outcome in self.outcomes if not outcome.ok]

    @property
    def pages_crawled(self) -> int:
        """Pages fetched in this run: feed entries (new or unchanged) plus single pages."""
        total = 0
        for outcome in self.stage(CRAWL):
            if isinstance(outcome.result, CrawlFeedResult):
                total += outcome.result.new + outcome.result.unchanged
            elif isinstance(outcome.result, FetchPageResult):
                total += 1
        return total

    @property
    def new_documents(self) -> int:
        """Feed entries stored for the first time in this run."""
        return sum(o.result.new for o in self.stage(CRAWL) if isinstance(o.result, CrawlFeedResult))

    @property
    def documents_mapped(self) -> int:
        """Documents read by the keyword mapping, over every mapped day."""
        return sum(o.result.documents for o in self.stage(MAP) if isinstance(o.result, MapKeywordsResult))

    @property
    def keyword_totals(self) -> dict[str, int]:
        """Mentions per keyword over every mapped day."""
        totals: dict[str, int] = {}
        for outcome in self.stage(MAP):
            if isinstance(outcome.result, MapKeywordsResult):
                for keyword, count in outcome.result.counts.items():
                    totals[keyword] = totals.get(keyword, 0) + count
        return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))

    @property
    def alerts(self) -> list[tuple[str, SendAlertResult]]:
        """Alert results by keyword."""
        return [(o.label, o.result) for o in self.stage(ALERT) if isinstance(o.result, SendAlertResult)]


def source_label(url: str) -> str:
    """A short label for a source: host and path of its URL."""
    parts = urlsplit(url)
    label = f"{parts.hostname or 'source'}{parts.path}".rstrip("/") or "source"
    return label[-MAX_SOURCE_LABEL:]


def describe_error(exc: BaseException) -> str:
    """One line naming an error's type and message."""
    message = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def days_ending(day: dt.date, count: int) -> list[dt.date]:
    """``count`` days ending with ``day``, oldest first."""
    return [day - dt.timedelta(days=offset) for offset in range(count - 1, -1, -1)]


class Pipeline:
    """Runs the pipeline's stages through a producer app, reporting every item."""

    def __init__(self, app: ContractApp, settings: ProducerSettings, reporter: Reporter) -> None:
        self.app = app
        self.settings = settings
        self.reporter = reporter

    def run(self, day: dt.date | None = None, *, crawl: bool = True) -> PipelineReport:
        """Crawl (unless told not to), map the last days, judge ``day`` and alert on its crossings."""
        started = time.monotonic()
        report = PipelineReport(day=day or self.settings.today())
        # One trace per run when tracing is on: every stage's tasks (a group, the chain) are in it.
        with tracing.span("pipeline", {PIPELINE_DAY: report.day.isoformat()}):
            if crawl:
                report.outcomes += self.crawl()
            report.outcomes += self.map_history(report.day)
            judged, report.thresholds = self.judge(report.day)
            report.outcomes += judged
            report.outcomes += self.alert(report.day, report.thresholds)
        report.elapsed = time.monotonic() - started
        return report

    def crawl_items(self) -> list[Item]:
        """One crawl task per configured feed and one fetch task per configured page."""
        items = [Item(url, CrawlFeed, {"feed_url": url, "source": source_label(url)}) for url in self.settings.feeds]
        items += [Item(url, FetchPage, {"url": url, "source": source_label(url)}) for url in self.settings.pages]
        return items

    def crawl(self) -> list[Outcome]:
        """Crawl every configured feed and page at once (a group)."""
        return self.run_group(CRAWL, self.crawl_items())

    def map_history(self, day: dt.date) -> list[Outcome]:
        """Map keywords for the ``days`` days before ``day`` at once (a group); judge() maps ``day`` itself."""
        history = days_ending(day - dt.timedelta(days=1), self.settings.days)
        items = [Item(d.isoformat(), MapKeywords, {"day": d.isoformat()}) for d in history]
        return self.run_group(MAP, items)

    def threshold_kwargs(self, day: dt.date) -> dict[str, Any]:
        """Arguments of find_thresholds for ``day`` from the settings."""
        return {
            "day": day.isoformat(),
            "window_days": self.settings.window_days,
            "k": self.settings.k,
            "min_history": self.settings.min_history,
            "min_spread": self.settings.min_spread,
        }

    def judge(self, day: dt.date) -> tuple[list[Outcome], FindThresholdsResult | None]:
        """Map ``day`` and find its thresholds right after, as one chain on the ETL queues."""
        with tracing.span(f"pipeline/{JUDGE}", {PIPELINE_DAY: day.isoformat()}):
            return self._judge(day)

    def _judge(self, day: dt.date) -> tuple[list[Outcome], FindThresholdsResult | None]:
        self.reporter.start_stage(JUDGE, 1)
        label = day.isoformat()
        outcomes: list[Outcome] = []
        result = None
        try:
            mapping = self.signature(MapKeywords, {"day": label})
            judging = self.linked_signature(FindThresholds, self.threshold_kwargs(day))
            handle = chain(mapping, judging).apply_async()
            result = handle.get(timeout=self.settings.task_timeout)
            mapped = handle.parent.get(timeout=self.settings.task_timeout)
        except Exception as exc:  # an item's failure is reported, never fatal to the run
            outcomes.append(Outcome(JUDGE, label, error=describe_error(exc)))
        else:
            outcomes.append(Outcome(MAP, label, result=mapped, task_id=handle.parent.id))
            outcomes.append(Outcome(JUDGE, label, result=result, task_id=handle.id))
        self.reporter.item_done(outcomes[-1])
        self.reporter.end_stage(JUDGE)
        return outcomes, result if isinstance(result, FindThresholdsResult) else None

    def alert_items(self, day: dt.date, thresholds: FindThresholdsResult | None) -> list[Item]:
        """One send_alert per keyword that crossed its threshold."""
        if thresholds is None:
            return []
        items = []
        for judged in thresholds.keywords:
            if not judged.crossed or judged.threshold is None:
                continue
            kwargs: dict[str, Any] = {
                "keyword": judged.keyword,
                "day": day.isoformat(),
                "count": judged.count,
                "threshold": judged.threshold,
                "history": [point.model_dump(mode="json") for point in judged.history],
            }
            if self.settings.recipients:
                kwargs["recipients"] = list(self.settings.recipients)
            items.append(Item(judged.keyword, SendAlert, kwargs))
        return items

    def alert(self, day: dt.date, thresholds: FindThresholdsResult | None) -> list[Outcome]:
        """Send every alert at once (a group)."""
        return self.run_group(ALERT, self.alert_items(day, thresholds))

    def signature(self, contract: type[Contract[Any, Any]], kwargs: dict[str, Any]) -> Any:
        """An immutable signature carrying the validated model, sent by this process (not a chain's later step)."""
        return self.app.tasks[contract.name].si(contract.parse_arguments(kwargs=kwargs))

    def linked_signature(self, contract: type[Contract[Any, Any]], kwargs: dict[str, Any]) -> Any:
        """A later step of a chain, validated here: it travels in the first message as JSON and a worker sends it."""
        arguments = contract.parse_arguments(kwargs=kwargs)
        return self.app.tasks[contract.name].si(**arguments.model_dump(mode="json"))

    def run_group(self, stage: str, items: Sequence[Item]) -> list[Outcome]:
        """Send the valid items as one group, then collect each typed result; failures stay per item."""
        with tracing.span(f"pipeline/{stage}", {PIPELINE_ITEMS: len(items)}):
            return self._run_group(stage, items)

    def _run_group(self, stage: str, items: Sequence[Item]) -> list[Outcome]:
        self.reporter.start_stage(stage, len(items))
        outcomes: list[Outcome] = []
        ready: list[tuple[Item, Any]] = []
        for item in items:
            try:
                ready.append((item, self.signature(item.contract, item.kwargs)))
            except CeleryTasksError as exc:
                outcomes.append(self._done(Outcome(stage, item.label, error=describe_error(exc))))
        if ready:
            try:
                handles = group([signature for _, signature in ready]).apply_async().results
            except Exception as exc:  # the broker refused the whole group: every item failed
                outcomes += [self._done(Outcome(stage, item.label, error=describe_error(exc))) for item, _ in ready]
                ready, handles = [], []
            deadline = time.monotonic() + self.settings.task_timeout
            for (item, _), handle in zip(ready, handles, strict=True):
                outcomes.append(self._done(self._collect(stage, item, handle, deadline)))
        self.reporter.end_stage(stage)
        return outcomes

    def _collect(self, stage: str, item: Item, handle: Any, deadline: float) -> Outcome:
        try:
            result = handle.get(timeout=max(deadline - time.monotonic(), 0.1))
        except Exception as exc:  # the worker's error, NoConsumer or a timeout: reported, not fatal
            return Outcome(stage, item.label, error=describe_error(exc), task_id=handle.id)
        return Outcome(stage, item.label, result=result, task_id=handle.id)

    def _done(self, outcome: Outcome) -> Outcome:
        self.reporter.item_done(outcome)
        return outcome
