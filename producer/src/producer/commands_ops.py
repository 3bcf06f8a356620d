"""Operations commands: status, dlq list/replay/purge, scale-advice, metrics (issue 5)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from celery_tasks.errors import CeleryTasksError
from celery_tasks.settings import TaskSettings, load_settings
from celery_tasks.topology import dead_letter_queue_name
from kombu.exceptions import OperationalError
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from broker_admin import BrokerAdminError, ManagementClient
from producer import dead_letters, queue_metrics, scale_advice, status
from producer.errors import ProducerError
from producer.scaling import SCALING_TARGETS

EXIT_FAILED = 1
EXIT_USAGE = 2

dlq_app = typer.Typer(
    help="Look at, replay and purge the messages parked in a contract's dead-letter queue (<name>.dlq).",
    no_args_is_help=True,
)


def _fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def _clear_errors() -> Iterator[None]:
    """Turn the errors an operator can act on into one red line and exit code 1."""
    try:
        yield
    except (CeleryTasksError, BrokerAdminError, ProducerError) as exc:
        _fail(str(exc))
    except OperationalError as exc:
        _fail(f"the broker cannot be reached: {exc}")


def _context() -> tuple[TaskSettings, ManagementClient]:
    settings = load_settings()
    return settings, ManagementClient.from_settings(settings)


def status_command(
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Refresh the table until Ctrl-C.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (one document per refresh with --watch).")
    ] = False,
    interval: Annotated[float, typer.Option(help="Seconds between refreshes with --watch.", min=0.2)] = 2.0,
    count: Annotated[
        int | None, typer.Option(help="Stop after this many refreshes (default: until Ctrl-C).", min=1)
    ] = None,
) -> None:
    """One row per contract: ready, unacked, consumers, rates in and out, dead letters, and a flag on trouble."""
    with _clear_errors():
        settings, client = _context()
        vhost = settings.vhost
        rows = status.collect(client, vhost)
        if not watch:
            if as_json:
                typer.echo(json.dumps(status.as_json(rows, vhost), indent=2))
            else:
                Console().print(status.render(rows, vhost))
            return
        refreshes = 1
        if as_json:
            typer.echo(json.dumps(status.as_json(rows, vhost)))
        with contextlib.suppress(KeyboardInterrupt), _live(as_json, status.render(rows, vhost)) as live:
            while count is None or refreshes < count:
                time.sleep(interval)
                rows = status.collect(client, vhost, previous={row.contract: row.ready for row in rows})
                refreshes += 1
                if as_json:
                    typer.echo(json.dumps(status.as_json(rows, vhost)), nl=True)
                elif live is not None:
                    live.update(status.render(rows, vhost))


@contextlib.contextmanager
def _live(as_json: bool, first: Table) -> Iterator[Live | None]:
    if as_json:
        yield None
        return
    with Live(first, console=Console(), refresh_per_second=4) as live:
        yield live


def dlq_list(
    name: Annotated[str, typer.Argument(help="Contract name, e.g. crawler.fetch_page (or its .dlq).")],
    limit: Annotated[int, typer.Option(help="Show at most this many messages.", min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List parked messages with the reason each was parked, leaving them in place."""
    with _clear_errors():
        settings, client = _context()
        total, listed = dead_letters.list_dead_letters(client, settings, name, limit=limit)
        contract = dead_letters.resolve_contract(name)
        if as_json:
            document = {"contract": contract.name, "total": total, "messages": [item.as_dict() for item in listed]}
            typer.echo(json.dumps(document, indent=2, default=str))
            return
        queue = dead_letter_queue_name(contract.name)
        table = Table(title=f"{queue}: {total} parked message(s), showing {len(listed)}", title_justify="left")
        for column in ("task id", "error", "reason", "parked at", "replays", "arguments"):
            table.add_column(column, overflow="fold")
        for item in listed:
            letter = item.letter
            reason = (letter.reason or "").strip()
            if item.leftover:
                reason = f"[already replayed: the next replay removes this copy] {reason}"
            arguments = json.dumps(letter.kwargs if letter.kwargs is not None else "undecodable", default=str)
            table.add_row(
                letter.task_id or "?",
                letter.error_type or "?",
                escape(reason[:500]),
                letter.parked_at or "?",
                str(letter.replay_count),
                escape(arguments[:200]),
            )
        Console().print(table)


def dlq_replay(
    name: Annotated[str, typer.Argument(help="Contract name, e.g. crawler.fetch_page (or its .dlq).")],
    task_id: Annotated[str | None, typer.Option("--id", help="Replay only the message of this task id.")] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Replay every parked message.")] = False,
    journal_dir: Annotated[
        Path | None, typer.Option(help=f"Journal folder (${dead_letters.JOURNAL_ENV} or ~/.local/state).")
    ] = None,
    lock_timeout: Annotated[float, typer.Option(help="Seconds to wait for another replay to finish.")] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Validate parked messages against the current contract and move them back to the queue, one at a time.

    Messages the contract refuses stay parked with the refusal as their reason.
    """
    if (task_id is None) == (not replay_all):
        _fail("choose what to replay: --id TASK_ID or --all", EXIT_USAGE)
    console = Console(stderr=as_json)
    with _clear_errors():
        settings = load_settings()
        report = dead_letters.replay(
            settings,
            name,
            task_id=task_id,
            journal_dir=journal_dir,
            lock_timeout=lock_timeout,
            progress=lambda line: console.print(escape(line), highlight=False),
        )
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        console.print(
            f"[bold]{report.contract}[/]: {len(report.moved)} replayed, {len(report.refused)} refused (still parked), "
            f"{len(report.leftovers)} leftover copies removed, {len(report.recovered)} interrupted moves finished; "
            f"{report.remaining} message(s) left in {dead_letter_queue_name(report.contract)}",
            highlight=False,
        )
    if not report.found:
        _fail(f"no parked message of {report.contract} has task id {task_id}")


def dlq_purge(
    name: Annotated[str, typer.Argument(help="Contract name, e.g. crawler.fetch_page (or its .dlq).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    lock_timeout: Annotated[float, typer.Option(help="Seconds to wait for a running replay to finish.")] = 30.0,
) -> None:
    """Delete every message parked in a contract's dead-letter queue (asks first)."""
    with _clear_errors():
        settings = load_settings()
        contract = dead_letters.resolve_contract(name)
        queue = dead_letter_queue_name(contract.name)
        if not yes:
            depth = dead_letters.dead_letter_depth(settings, contract.name)
            shown = "all" if depth is None else f"the {depth}"
            typer.confirm(f"Delete {shown} message(s) parked in {queue}? This cannot be undone", abort=True)
        removed = dead_letters.purge(settings, contract.name, lock_timeout=lock_timeout)
    Console().print(f"removed {removed} message(s) from {queue}", highlight=False)


def scale_advice_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    target: Annotated[
        list[str] | None,
        typer.Option(help="CONSUMER=QUEUE[,QUEUE]:PER_REPLICA[:MIN:MAX] instead of the built-in targets (repeat)."),
    ] = None,
    include_unacked: Annotated[
        bool, typer.Option("--include-unacked", help="Count unacknowledged messages too (KEDA over HTTP).")
    ] = False,
) -> None:
    """Replicas each consumer's queues call for, by the rule of KEDA's RabbitMQ scaler (QueueLength)."""
    with _clear_errors():
        settings, client = _context()
        targets = [scale_advice.parse_target(spec) for spec in target] if target else SCALING_TARGETS
        advice = scale_advice.advise(client, settings.vhost, targets, include_unacked=include_unacked)
        if as_json:
            document = {"vhost": settings.vhost, "consumers": [item.as_dict() for item in advice]}
            typer.echo(json.dumps(document, indent=2))
            return
        Console().print(scale_advice.render(advice, settings.vhost))


def metrics_command(
    port: Annotated[
        int, typer.Option(envvar="PRODUCER_METRICS_PORT", help="Port of /metrics.", min=1, max=65535)
    ] = 9808,
    address: Annotated[str, typer.Option(envvar="PRODUCER_METRICS_ADDRESS", help="Address to listen on.")] = "0.0.0.0",  # noqa: S104
) -> None:
    """Serve Prometheus metrics of queue depth, consumers and dead letters per contract, until stopped."""
    with _clear_errors():
        settings, client = _context()
        Console(stderr=True).print(
            f"serving queue metrics of vhost {settings.vhost!r} on http://{address}:{port}/metrics"
        )
        try:
            queue_metrics.serve(client, settings.vhost, port, address)
        except OSError as exc:
            _fail(f"cannot listen on {address}:{port}: {exc.strerror}")


def register(app: typer.Typer) -> None:
    """Add the operations commands to the producer's command line."""
    app.command("status")(status_command)
    app.command("scale-advice")(scale_advice_command)
    app.command("metrics")(metrics_command)
    dlq_app.command("list")(dlq_list)
    dlq_app.command("replay")(dlq_replay)
    dlq_app.command("purge")(dlq_purge)
    app.add_typer(dlq_app, name="dlq")
