"""The periodic schedule (Celery beat) built from PRODUCER_* settings.

- Every ``crawl_every_minutes``: one ``crawler.crawl_feed`` per feed and one
  ``crawler.fetch_page`` per page. Beat sends them through the contract's own
  ``apply_async``, so the arguments are validated and the message goes to the
  contract's queue with its version headers; results are not kept (``ignore_result``).
- Every day at ``daily_at`` (in ``timezone``): the ETL and alert stages of the
  pipeline for that day. They depend on each other's results (the alerts need the
  thresholds), so beat runs them here, on a background thread, with the typed
  ``delay().get()`` calls of the pipeline, rather than sending a fixed message.

The schedule file (a shelve database holding each entry's last run) lives in
``schedule_dir`` so that a restarted beat does not resend what it sent already.

SIGTERM and SIGINT stop beat between ticks (``ContractBeat``). Celery's own handler closes
the broker connection inside the signal handler; when the signal lands while a publish is
writing its frames, py-amqp's frame lock is already held by the interrupted code and the
handler waits for it forever (seen: beat did not stop, SIGKILL after 30 s).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any, ClassVar

from celery import platforms
from celery.apps.beat import Beat
from celery.beat import PersistentScheduler, ScheduleEntry, Service
from celery.schedules import crontab
from celery_tasks.errors import InvalidArguments
from celery_tasks.registry import get_contract
from celery_tasks.runtime.app import ContractApp
from celery_tasks.settings import TaskSettings
from celery_tasks.tasks.crawler import CrawlFeed, FetchPage

from producer.client import producer_app
from producer.errors import ProducerConfigError
from producer.pipeline import Outcome, Pipeline, source_label
from producer.report import summarize
from producer.settings import ProducerSettings

DAILY_JOB = "producer.daily_pipeline"
DAILY_ENTRY = "daily ETL and alerts"

logger = logging.getLogger(__name__)


def build_schedule(settings: ProducerSettings) -> dict[str, dict[str, Any]]:
    """Beat entries: a crawl entry per source, and the daily ETL-and-alerts entry."""
    every = dt.timedelta(minutes=settings.crawl_every_minutes)
    entries: dict[str, dict[str, Any]] = {}
    sources = [(CrawlFeed, "feed_url", url) for url in settings.feeds]
    sources += [(FetchPage, "url", url) for url in settings.pages]
    for contract, field, url in sources:
        kwargs = {field: url, "source": source_label(url)}
        try:
            contract.parse_arguments(kwargs=kwargs)
        except InvalidArguments as exc:
            raise ProducerConfigError(f"cannot schedule {url!r}: {exc}") from None
        entries[f"{contract.name} {url}"] = {
            "task": contract.name,
            "schedule": every,
            "kwargs": kwargs,
            "options": {"ignore_result": True},
        }
    hour, minute = settings.daily_hour_minute
    entries[DAILY_ENTRY] = {"task": DAILY_JOB, "schedule": crontab(minute=minute, hour=hour)}
    return entries


class LogReporter:
    """Pipeline progress as log lines (beat runs unattended)."""

    def __enter__(self) -> LogReporter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        return None

    def start_stage(self, stage: str, total: int) -> None:
        """Log the stage's start."""
        logger.info("daily run: %s, %d items", stage, total)

    def item_done(self, outcome: Outcome) -> None:
        """Log one item, as a warning when it failed."""
        if outcome.ok:
            logger.info("daily run: %s %s ok: %s", outcome.stage, outcome.label, summarize(outcome.result))
        else:
            logger.warning("daily run: %s %s FAILED: %s", outcome.stage, outcome.label, outcome.error)

    def end_stage(self, stage: str) -> None:
        """Log the stage's end."""
        logger.info("daily run: %s done", stage)


class DailyRunner:
    """Runs the daily ETL and alert stages on a background thread, one run at a time."""

    def __init__(self, app: ContractApp, settings: ProducerSettings) -> None:
        self.app = app
        self.settings = settings
        self.thread: threading.Thread | None = None

    def trigger(self, day: dt.date | None = None) -> threading.Thread | None:
        """Start a run for ``day`` (default today); skipped while the previous run is still going."""
        if self.thread is not None and self.thread.is_alive():
            logger.warning("daily run skipped: the previous one is still running")
            return None
        self.thread = threading.Thread(target=self.run, args=(day,), name="daily-pipeline", daemon=True)
        self.thread.start()
        return self.thread

    def run(self, day: dt.date | None = None) -> None:
        """Map the day and its history, judge it and send its alerts (no crawl: beat crawls on its own)."""
        try:
            report = Pipeline(self.app, self.settings, LogReporter()).run(day, crawl=False)
        except Exception:
            logger.exception("daily run crashed")
            return
        logger.info(
            "daily run for %s finished in %.1f s: %d alerts, %d failed items",
            report.day,
            report.elapsed,
            len(report.alerts),
            len(report.failed),
        )


@dataclass
class StopRequest:
    """A stop asked for by a signal, and whether the scheduler is inside a tick (publishing) right now."""

    requested: bool = False
    ticking: bool = False


class ContractScheduler(PersistentScheduler):  # type: ignore[misc]
    """Beat scheduler: contract entries go through the contract's validated apply_async; the daily job runs here."""

    producer_settings: ClassVar[ProducerSettings]
    stop_request: ClassVar[StopRequest]

    def tick(self, *args: Any, **kwargs: Any) -> Any:
        """Celery's tick; a stop asked for during it takes effect once its sends are done."""
        self.stop_request.ticking = True
        try:
            interval = super().tick(*args, **kwargs)
        finally:
            self.stop_request.ticking = False
        if self.stop_request.requested:
            raise SystemExit
        return interval

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.daily = DailyRunner(self.app, self.producer_settings)

    def apply_async(self, entry: ScheduleEntry, producer: Any = None, advance: bool = True, **kwargs: Any) -> Any:
        """Send a contract entry (validated by its contract), or start the daily run."""
        if entry.task == DAILY_JOB:
            if advance:
                self.reserve(entry)
            self.daily.trigger()
            return None
        get_contract(entry.task)  # only contracts are scheduled: a stray name fails loudly
        return super().apply_async(entry, producer=producer, advance=advance, **kwargs)


def configure_beat(app: ContractApp, settings: ProducerSettings) -> type[ContractScheduler]:
    """Put the schedule and time zone into the app; the scheduler class bound to these settings."""
    app.conf.beat_schedule = build_schedule(settings)
    app.conf.timezone = settings.timezone
    app.conf.beat_schedule_filename = str(settings.schedule_file)
    app.conf.beat_max_loop_interval = min(60.0, settings.crawl_every_minutes * 60)
    attributes = {"producer_settings": settings, "stop_request": StopRequest()}
    return type("BoundContractScheduler", (ContractScheduler,), attributes)


class ContractBeat(Beat):  # type: ignore[misc]
    """Celery beat whose SIGTERM/SIGINT never touches the broker from inside the signal handler."""

    def __init__(self, *args: Any, stop_request: StopRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stop_request = stop_request

    def install_sync_handler(self, service: Service) -> None:
        """Stop at once between ticks, or right after the tick in progress; Service.start then closes cleanly."""
        stop_request = self.stop_request

        def stop(signum: int, frame: FrameType | None) -> None:
            stop_request.requested = True
            if not stop_request.ticking:
                raise SystemExit

        platforms.signals.update(SIGTERM=stop, SIGINT=stop)


def run_beat(settings: ProducerSettings, task_settings: TaskSettings, *, loglevel: str = "INFO") -> None:
    """Run beat in this process until it is stopped."""
    settings.schedule_dir.mkdir(parents=True, exist_ok=True)
    app = producer_app(task_settings)
    scheduler = configure_beat(app, settings)
    beat = ContractBeat(
        app=app,
        scheduler=scheduler,
        schedule=str(settings.schedule_file),
        loglevel=loglevel,
        stop_request=scheduler.stop_request,
    )
    beat.run()
