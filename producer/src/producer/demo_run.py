"""`producer demo` at work: the whole system on one machine, started, exercised and stopped by one command.

Imported by :func:`producer.demo.run_demo` only when the demo runs: the fake news site and
the process runner come from celery-tasks-devtools, which no service image installs. It
uses its own RabbitMQ virtual host (recreated empty at every run and left in place
afterwards so its queues can be browsed in the management UI), starts each consumer
with the same console command its container runs, serves a generated news site and a
mail catcher on loopback, runs the pipeline and prints what came out.
"""

from __future__ import annotations

import datetime as dt
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType
from urllib.parse import quote

from celery_tasks.runtime.app import ContractApp
from celery_tasks.settings import TaskSettings, load_settings
from celery_tasks_devtools.errors import DevtoolsError
from celery_tasks_devtools.mail import MailCatcher, png_attachments
from celery_tasks_devtools.processes import ServiceGroup, entry_point
from celery_tasks_devtools.site import LANGUAGES, SiteServer, generate, write_keywords_file
from rich.console import Console
from rich.markup import escape

from broker_admin import ManagementAPIError, ManagementClient
from producer.client import producer_app
from producer.demo_api import api_round_trip
from producer.errors import DemoError
from producer.pipeline import Pipeline, PipelineReport
from producer.report import display_path, make_reporter, print_summary
from producer.settings import load_producer_settings

#: (entry point, queues it consumes, extra worker options): one process per service, as in the containers.
CONSUMERS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("consumer-crawler", ("crawler.fetch_page", "crawler.crawl_feed"), ()),
    ("consumer-etl", ("etl.map_keywords", "etl.find_thresholds"), ("--concurrency=2",)),
    ("consumer-alert", ("alert.send_alert",), ("--concurrency=1",)),
)
CONSUMER_START_TIMEOUT = 90.0
RECIPIENT = "team@example.com"
SENDER = "alerts@example.com"
GENERATED = ("mail", "charts", "logs", "keywords.json", "api-keys.json", "demo.db", "demo.db-wal", "demo.db-shm")


class Interrupted(DemoError):
    """Raised when the demo receives SIGTERM or SIGHUP, so that everything it started is stopped."""


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into an exception, and make sure Ctrl-C is one, while the demo runs."""

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        raise Interrupted(f"stopped by {signal.Signals(signum).name}")

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    # Ctrl-C raises KeyboardInterrupt, also when the demo was started with SIGINT ignored (`cmd &` in a script).
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def prepare_output(output: Path) -> Path:
    """The output folder, emptied of what an earlier demo wrote there (nothing else is touched)."""
    output = output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    for name in GENERATED:
        target = output / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    for folder in ("mail", "charts", "logs"):
        (output / folder).mkdir()
    return output


def prepare_vhost(settings: TaskSettings, vhost: str) -> ManagementClient:
    """Recreate the demo's virtual host empty, so that no message of an earlier run is left."""
    management = ManagementClient.from_settings(settings)
    try:
        management.delete_vhost(vhost)
        management.create_vhost(vhost)
        management.set_permissions(vhost, settings.broker_credentials()[0])
    except ManagementAPIError as exc:
        raise DemoError(f"RabbitMQ's management API is needed for the demo (run `make broker`): {exc}") from None
    return management


def consumer_env(settings: TaskSettings, output: Path, smtp_port: int) -> dict[str, str]:
    """The environment every consumer of the demo gets: the demo vhost, a fresh database, loopback services."""
    return {
        "CELERY_TASKS_BROKER_URL": settings.broker_url,
        "CELERY_TASKS_DATABASE_URL": f"sqlite:///{output / 'demo.db'}",
        "CRAWLER_ALLOW_LOOPBACK": "true",
        "CRAWLER_POLITENESS_DELAY": "0",
        "ETL_KEYWORDS_FILE": str(output / "keywords.json"),
        "ALERT_SMTP_HOST": "127.0.0.1",
        "ALERT_SMTP_PORT": str(smtp_port),
        "ALERT_SMTP_SECURITY": "none",
        "ALERT_MAIL_FROM": SENDER,
        "ALERT_DEFAULT_RECIPIENTS": RECIPIENT,
        "ALERT_CHART_DIR": str(output / "charts"),
    }


def wait_for_consumers(app: ContractApp, services: ServiceGroup, timeout: float = CONSUMER_START_TIMEOUT) -> None:
    """Block until every demo queue has a consumer, failing early if a consumer process dies."""
    queues = [queue for _, names, _ in CONSUMERS for queue in names]
    deadline = time.monotonic() + timeout
    while True:
        services.check_alive()
        missing = [queue for queue in queues if app.consumer_count(queue) == 0]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise DemoError(f"no consumer on {missing} after {timeout:.0f} s; see the logs in the output folder")
        time.sleep(0.5)


def run_demo(
    output: Path, vhost: str, console: Console, *, today: dt.date | None = None, language: str = "en"
) -> PipelineReport:
    """Run the demo end to end on a site in ``language`` (en, zh); DemoError unless a mail with a chart came."""
    try:
        return _run(output, vhost, console, today, language)
    except DevtoolsError as exc:  # a consumer that exited, an entry point that is not installed
        raise DemoError(str(exc)) from None


def _run(output: Path, vhost: str, console: Console, today: dt.date | None, language: str) -> PipelineReport:
    if language not in LANGUAGES:
        raise DemoError(f"the demo site speaks {', '.join(sorted(LANGUAGES))}, not {language!r}")
    started = time.monotonic()
    today = today or dt.datetime.now(dt.UTC).date()
    base = load_settings()
    settings = base.with_vhost(vhost)
    output = prepare_output(output)
    ui = f"{base.management_url.rstrip('/')}/#/queues/{quote(vhost, safe='')}"
    say: Callable[[str], None] = lambda text: console.print(text, highlight=False)  # noqa: E731
    say(f"[bold]Demo[/] output folder {escape(str(output))}, RabbitMQ vhost {vhost!r}")
    prepare_vhost(base, vhost)
    say(f"  management UI: {ui} (user guest / guest)")
    with ExitStack() as stack:
        stack.enter_context(stop_on_signals())
        site = SiteServer(generate(today, language=language)).start()
        stack.callback(site.stop)
        say(f"  demo site: {site.base_url}/ ({len(site.site.articles)} articles over {len(site.site.counts)} days)")
        mail = MailCatcher(output / "mail").start()
        stack.callback(mail.stop)
        say(f"  mail catcher: smtp://127.0.0.1:{mail.port} -> {escape(str(output / 'mail'))}")
        write_keywords_file(output / "keywords.json", language)
        services = stack.enter_context(ServiceGroup())
        env = consumer_env(settings, output, mail.port)
        for name, _, options in CONSUMERS:
            service = services.start(name, [entry_point(name), *options], env, output / "logs" / f"{name}.log")
            say(f"  started {name} (pid {service.process.pid}), log in {escape(str(service.log_path))}")
        app = producer_app(settings)
        stack.callback(app.close)
        wait_for_consumers(app, services)
        say(f"  consumers ready: {', '.join(name for name, _, _ in CONSUMERS)} ({time.monotonic() - started:.1f} s)")
        say("")
        producer_settings = load_producer_settings(
            feeds=site.feed_urls, pages=[f"{site.base_url}/about.html"], timezone="UTC", task_timeout=120.0
        )
        with make_reporter(console) as reporter:
            report = Pipeline(app, producer_settings, reporter).run(today)
        mails = {alert.message_id or "": mail.file_for(alert.message_id) for _, alert in report.alerts}
        print_summary(console, report, {key: path for key, path in mails.items() if path is not None})
        say("")
        surge = ", ".join(f"{k} ({v} documents)" for k, v in LANGUAGES[language].surge.items())
        say(f"Expected surge on {today.isoformat()}: {surge}")
        delivered = _report_mails(console, mail)
        if api_round_trip(services, env, output, f"{site.base_url}/about.html", say) != "SUCCESS":
            raise DemoError(f"the task sent over the HTTP API did not succeed; see {output / 'logs'}")
        say(f"Management UI: {ui} (the demo vhost stays until the next run)")
        say(f"Demo finished in {time.monotonic() - started:.1f} s; stopping the consumers.")
    if not delivered:
        raise DemoError(f"no alert mail with a chart arrived in {output / 'mail'}; see the logs in {output / 'logs'}")
    return report


def _report_mails(console: Console, mail: MailCatcher) -> int:
    """Print each saved mail with its attached chart; the number of mails that carry a chart."""
    carrying = 0
    for path in sorted(mail.files.values()):
        charts = png_attachments(path)
        carrying += bool(charts)
        attached = ", ".join(f"{name} ({size} bytes)" for name, size in charts) or "no chart"
        console.print(f"Mail {escape(display_path(path))}: {escape(attached)}", highlight=False, soft_wrap=True)
    if not mail.files:
        console.print("[red]No mail arrived.[/]")
    return carrying
