"""How the pipeline shows itself: a progress bar per stage on a terminal, plain lines otherwise, then tables."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from celery_tasks.models import ContractResult
from celery_tasks.tasks.alert import SendAlertResult
from celery_tasks.tasks.crawler import CrawlFeedResult, FetchPageResult
from celery_tasks.tasks.etl import FindThresholdsResult, MapKeywordsResult
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from producer.pipeline import ALERT, CRAWL, JUDGE, MAP, STAGES, Outcome, PipelineReport

PLAIN_WIDTH = 120
TOP_KEYWORDS = 15


def display_path(path: str | Path | None) -> str:
    """A path relative to the current folder when it lies inside it (shorter tables), else as given."""
    if not path:
        return "-"
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def make_console(stderr: bool = False) -> Console:
    """A console; wide enough for the summary tables when the output is not a terminal."""
    console = Console(stderr=stderr)
    if not console.is_terminal:
        console = Console(stderr=stderr, width=PLAIN_WIDTH)
    return console


def _crawl_feed(result: CrawlFeedResult) -> str:
    return f"{result.new} new, {result.updated} updated, {result.unchanged} unchanged, {result.failed} failed entries"


def _fetch_page(result: FetchPageResult) -> str:
    return f"HTTP {result.status}, {result.outcome}: {result.title or '-'}"


def _map_keywords(result: MapKeywordsResult) -> str:
    return f"{result.documents} documents, {sum(result.counts.values())} keyword mentions"


def _find_thresholds(result: FindThresholdsResult) -> str:
    return f"{len(result.keywords)} keywords judged, crossed: {', '.join(result.crossed) or 'none'}"


def _send_alert(result: SendAlertResult) -> str:
    if result.duplicate:
        return "already sent for this day (not sent again)"
    return f"mailed to {', '.join(result.recipients) or '-'}" if result.sent else "not sent"


SUMMARIES: dict[type[Any], Callable[[Any], str]] = {
    CrawlFeedResult: _crawl_feed,
    FetchPageResult: _fetch_page,
    MapKeywordsResult: _map_keywords,
    FindThresholdsResult: _find_thresholds,
    SendAlertResult: _send_alert,
}


def summarize(result: ContractResult | None) -> str:
    """A short description of one typed result."""
    if result is None:
        return ""
    describe = SUMMARIES.get(type(result))
    return describe(result) if describe else result.model_dump_json()


class SilentReporter:
    """A reporter that says nothing, for callers that only want the returned report."""

    def start_stage(self, stage: str, total: int) -> None:
        """Say nothing when a stage begins."""

    def item_done(self, outcome: Outcome) -> None:
        """Say nothing when an item finishes."""

    def end_stage(self, stage: str) -> None:
        """Say nothing when a stage ends."""


class PlainReporter:
    """One line per stage start, per item and per stage end: for logs and pipes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.total = 0
        self.done = 0
        self.failed = 0

    def __enter__(self) -> PlainReporter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        return None

    def start_stage(self, stage: str, total: int) -> None:
        """Announce a stage and its item count."""
        self.total, self.done, self.failed = total, 0, 0
        self.console.print(f"{stage}: {total} item{'s' if total != 1 else ''}", highlight=False)

    def item_done(self, outcome: Outcome) -> None:
        """Print one item's outcome."""
        self.done += 1
        where = f"{outcome.stage} [{self.done}/{self.total}]"
        if outcome.ok:
            line = f"{where} ok {outcome.label}: {summarize(outcome.result)}"
        else:
            self.failed += 1
            line = f"{where} FAILED {outcome.label}: {outcome.error}"
        self.console.print(escape(line), highlight=False, soft_wrap=True)

    def end_stage(self, stage: str) -> None:
        """Print the stage's tally."""
        self.console.print(f"{stage}: {self.done - self.failed} ok, {self.failed} failed", highlight=False)


class ProgressReporter:
    """A rich progress bar per stage; failed items are printed above the bars as they happen."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.description:<13}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self.tasks: dict[str, TaskID] = {}
        self.failures: dict[str, int] = {}

    def __enter__(self) -> ProgressReporter:
        self.progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.progress.stop()

    def start_stage(self, stage: str, total: int) -> None:
        """Add the stage's bar."""
        self.failures[stage] = 0
        self.tasks[stage] = self.progress.add_task(stage, total=max(total, 0) or None, failed="")
        if total == 0:
            self.progress.update(self.tasks[stage], total=1, completed=1, failed="[dim]nothing to do")

    def item_done(self, outcome: Outcome) -> None:
        """Advance the bar; print the failure if the item failed."""
        task = self.tasks[outcome.stage]
        if not outcome.ok:
            self.failures[outcome.stage] += 1
            self.progress.update(task, failed=f"[red]{self.failures[outcome.stage]} failed")
            self.progress.console.print(
                f"[red]✗[/] {escape(outcome.stage)} {escape(outcome.label)}: {escape(outcome.error or '')}"
            )
        self.progress.update(task, advance=1)

    def end_stage(self, stage: str) -> None:
        """Nothing to do: the bar is complete."""


def make_reporter(console: Console) -> PlainReporter | ProgressReporter:
    """Progress bars on a terminal, plain lines otherwise."""
    return ProgressReporter(console) if console.is_terminal else PlainReporter(console)


def stage_table(report: PipelineReport) -> Table:
    """Items, successes and failures per stage."""
    table = Table(title=f"Pipeline for {report.day.isoformat()} ({report.elapsed:.1f} s)", title_justify="left")
    for column in ("stage", "items", "ok", "failed", "what came out"):
        table.add_column(column, justify="right" if column in {"items", "ok", "failed"} else "left")
    notes = {
        CRAWL: f"{report.pages_crawled} pages crawled, {report.new_documents} new documents",
        MAP: f"{report.documents_mapped} documents over {len(report.stage(MAP))} days",
        JUDGE: summarize(report.thresholds) if report.thresholds else "no thresholds",
        ALERT: f"{sum(1 for _, a in report.alerts if a.sent)} mails sent",
    }
    for stage in STAGES:
        outcomes = report.stage(stage)
        failed = sum(1 for outcome in outcomes if not outcome.ok)
        table.add_row(stage, str(len(outcomes)), str(len(outcomes) - failed), str(failed), notes[stage])
    return table


def failure_table(report: PipelineReport) -> Table:
    """Every failed item with its error."""
    table = Table(title="Failed items", title_justify="left", title_style="bold red")
    for column in ("stage", "item", "error"):
        table.add_column(column)
    for outcome in report.failed:
        table.add_row(outcome.stage, escape(outcome.label), escape(outcome.error or ""))
    return table


def keyword_table(report: PipelineReport) -> Table:
    """Mentions per keyword over the mapped days, and each keyword's threshold on the judged day."""
    judged = {k.keyword: k for k in report.thresholds.keywords} if report.thresholds else {}
    table = Table(title="Keywords counted and thresholds", title_justify="left")
    days = len(report.stage(MAP))
    for column in ("keyword", f"mentions ({days} days)", f"count on {report.day.isoformat()}", "threshold", "crossed"):
        table.add_column(column, justify="left" if column in {"keyword", "crossed"} else "right")
    totals = report.keyword_totals
    names = list(dict.fromkeys([*totals, *judged]))[:TOP_KEYWORDS]
    for name in names:
        item = judged.get(name)
        threshold = "-" if item is None or item.threshold is None else f"{item.threshold:.2f}"
        crossed = "[bold red]yes[/]" if item is not None and item.crossed else "no"
        count = "-" if item is None else str(item.count)
        table.add_row(escape(name), str(totals.get(name, 0)), count, threshold, crossed)
    return table


def alert_table(report: PipelineReport, mail_files: Mapping[str, Path] | None = None) -> Table:
    """Each alert: sent or duplicate, its chart file and (in the demo) the mail file."""
    table = Table(title="Alerts", title_justify="left")
    columns = ["keyword", "sent", "chart"] + (["mail"] if mail_files is not None else [])
    for column in columns:
        table.add_column(column, overflow="fold")
    for keyword, alert in report.alerts:
        state = "duplicate" if alert.duplicate else ("yes" if alert.sent else "no")
        row = [escape(keyword), state, escape(display_path(alert.chart_path))]
        if mail_files is not None:
            row.append(escape(display_path(mail_files.get(alert.message_id or ""))))
        table.add_row(*row)
    return table


def print_summary(console: Console, report: PipelineReport, mail_files: Mapping[str, Path] | None = None) -> None:
    """The tables that end a pipeline run."""
    console.print()
    console.print(stage_table(report))
    if report.failed:
        console.print(failure_table(report))
    if report.keyword_totals or report.thresholds:
        console.print(keyword_table(report))
    if report.alerts:
        console.print(alert_table(report, mail_files))
