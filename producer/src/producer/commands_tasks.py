"""Commands that send work: contracts, submit, pipeline run, schedule, serve, demo (issue 4)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import uvicorn
from celery.exceptions import TimeoutError as CeleryTimeoutError
from celery_tasks.errors import (
    BrokerUnavailable,
    CeleryTasksError,
    ConfigurationError,
    InvalidArguments,
    NoConsumer,
    NotCancellable,
    ResultStoreUnavailable,
    UnknownContract,
)
from celery_tasks.settings import TaskSettings, load_settings
from kombu.exceptions import OperationalError
from rich.markup import escape
from rich.table import Table

from producer import client, observability, task_store
from producer.api import create_api
from producer.demo import run_demo
from producer.errors import ProducerError
from producer.pipeline import Pipeline
from producer.progress_bar import wait_with_progress
from producer.report import make_console, make_reporter, print_summary
from producer.schedule import run_beat
from producer.settings import ProducerSettings, load_producer_settings

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

pipeline_app = typer.Typer(help="Run the crawl → keywords → thresholds → alerts pipeline.", no_args_is_help=True)


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print an error on stderr and leave with ``code``."""
    make_console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def contracts(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (with the full JSON schemas) for scripts.")
    ] = False,
) -> None:
    """List every contract: name, version, queue and argument schema."""
    rows = client.contract_rows()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Task contracts (queue = name; parked messages in <name>.dlq)", title_justify="left")
    for column in ("name", "version", "queue", "arguments", "implemented by"):
        table.add_column(column, overflow="fold")
    for row in rows:
        versions = (
            f"{row['version']}" if row["min_version"] == row["version"] else f"{row['min_version']}..{row['version']}"
        )
        table.add_row(
            row["name"],
            versions,
            row["queue"],
            escape(client.describe_fields(row["args_schema"])),
            row["implemented_by"],
        )
    make_console().print(table)


def submit(
    name: Annotated[str, typer.Argument(help="Contract name, e.g. diagnostics.echo (see `producer contracts`).")],
    args: Annotated[str, typer.Option("--args", help="Named arguments as a JSON object.")] = "{}",
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the typed result and print it as JSON.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits for the result.", min=0.1)] = 60.0,
) -> None:
    """Validate the arguments against the contract, send the task and print its id (or, with --wait, its result)."""
    try:
        call = client.validate(name, client.parse_json_arguments(args))
    except (UnknownContract, InvalidArguments) as exc:
        fail(f"{exc}\nnothing was sent.", EXIT_USAGE)
    try:
        handle = client.submit(client.producer_app(load_settings()), call)
    except BrokerUnavailable as exc:
        fail(str(exc))
    except (OperationalError, ConnectionError, OSError) as exc:
        fail(f"could not send {name}: the broker is unreachable ({exc})")
    except CeleryTasksError as exc:
        fail(f"could not send {name}: {exc}")
    err = make_console(stderr=True)
    if not wait:
        err.print(f"sent {name} as task {handle.id}", highlight=False)
        typer.echo(handle.id)
        return
    err.print(f"sent {name} as task {handle.id}; waiting up to {timeout:g} s", highlight=False)
    try:
        result = wait_with_progress(handle, timeout, err)
    except NoConsumer as exc:
        fail(str(exc))
    except CeleryTimeoutError:
        fail(f"no result for task {handle.id} within {timeout:g} s; it is still queued or running")
    except Exception as exc:  # the worker's own error, rebuilt by Celery
        fail(f"task {handle.id} failed: {type(exc).__name__}: {exc}")
    typer.echo(result.model_dump_json(indent=2))


def cancel(
    task_id: Annotated[str, typer.Argument(help="Task id, as printed by submit or answered by POST /tasks/{name}.")],
) -> None:
    """Cancel a task: a queued one never runs (on any worker, with a shared result store), a running one stops."""
    try:
        answer = task_store.cancel_task(client.producer_app(_task_settings()), task_id)
    except task_store.MalformedTaskId as exc:
        fail(str(exc), EXIT_USAGE)
    except (task_store.UnknownTask, NotCancellable, ResultStoreUnavailable, BrokerUnavailable) as exc:
        fail(str(exc))
    note = "" if answer.lasting else " (rpc://: only workers running now know it; use a shared result store)"
    make_console(stderr=True).print(f"cancelled {task_id} (was {answer.previous_state}){note}", highlight=False)
    typer.echo(answer.state)


@pipeline_app.command("run")
def pipeline_run(
    day: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Day to judge (default: today).")
    ] = None,
    feed: Annotated[
        list[str] | None, typer.Option("--feed", help="Feed URL (repeat; replaces PRODUCER_FEEDS).")
    ] = None,
    page: Annotated[
        list[str] | None, typer.Option("--page", help="Page URL (repeat; replaces PRODUCER_PAGES).")
    ] = None,
    days: Annotated[int | None, typer.Option(help="Days of history to map before the judged day.", min=1)] = None,
    crawl: Annotated[bool, typer.Option("--crawl/--no-crawl", help="Crawl the sources first.")] = True,
) -> None:
    """Crawl the sources, map keywords over the last days, find the day's thresholds and send the alerts."""
    overrides: dict[str, Any] = {}
    if feed is not None:
        overrides["feeds"] = feed
    if page is not None:
        overrides["pages"] = page
    if days is not None:
        overrides["days"] = days
    settings = _producer_settings(**overrides)
    console = make_console()
    app = client.producer_app(_task_settings())
    with make_reporter(console) as reporter:
        report = Pipeline(app, settings, reporter).run(day.date() if day else None, crawl=crawl)
    print_summary(console, report)
    if report.failed:
        raise typer.Exit(EXIT_FAILED)


def schedule(
    schedule_dir: Annotated[
        Path | None, typer.Option(help="Folder of the schedule file (PRODUCER_SCHEDULE_DIR).")
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Log level of beat.")] = "INFO",
) -> None:
    """Run Celery beat: crawl every N minutes and the ETL and alerts once a day, from PRODUCER_* settings."""
    overrides: dict[str, Any] = {} if schedule_dir is None else {"schedule_dir": schedule_dir}
    run_beat(_producer_settings(**overrides), _task_settings(), loglevel=loglevel)


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (PRODUCER_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (PRODUCER_API_PORT).")] = None,
) -> None:
    """Serve the HTTP API with uvicorn: POST /tasks/{name}, GET /tasks/{id}, /contracts, /healthz, /docs.

    Every route but /healthz needs a key (`producer keys create`) from PRODUCER_API_KEYS_FILE or PRODUCER_API_KEYS.
    """
    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["api_host"] = host
    if port is not None:
        overrides["api_port"] = port
    settings = _producer_settings(**overrides)
    try:
        api = create_api(settings, _task_settings())
    except ProducerError as exc:
        fail(str(exc), EXIT_USAGE)
    log_config = observability.uvicorn_log_config()
    uvicorn.run(
        api,
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        proxy_headers=False,
        log_config=log_config,
    )


def demo(
    output: Annotated[Path, typer.Option(help="Folder for the mails, charts, database and logs.")] = Path(
        "demo-output"
    ),
    vhost: Annotated[
        str, typer.Option(help="RabbitMQ virtual host of the demo (recreated empty).")
    ] = "celery-tasks-demo",
    language: Annotated[
        str, typer.Option(help="Language of the generated news site: en, or zh (Chinese keywords and chart).")
    ] = "en",
) -> None:
    """Run everything on this machine: consumers, a demo site, a mail catcher, the pipeline and its summary."""
    try:
        run_demo(output, vhost, make_console(), language=language)
    except KeyboardInterrupt:
        fail("interrupted: everything the demo started has been stopped", EXIT_INTERRUPTED)
    except ProducerError as exc:
        fail(f"{exc}\n(everything the demo started has been stopped)")


def _producer_settings(**overrides: Any) -> ProducerSettings:
    try:
        return load_producer_settings(**overrides)
    except ProducerError as exc:
        fail(str(exc), EXIT_USAGE)


def _task_settings() -> TaskSettings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        fail(str(exc), EXIT_USAGE)


def register(app: typer.Typer) -> None:
    """Add the task commands to the producer's command line."""
    app.command()(contracts)
    app.command()(submit)
    app.command()(cancel)
    app.add_typer(pipeline_app, name="pipeline")
    app.command()(schedule)
    app.command()(serve)
    app.command()(demo)
