"""`producer keys create|list|revoke`: manage the API keys file (issue 15)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from producer.errors import ProducerError
from producer.keys import create_key, read_keys_file, revoke_key, write_keys_file
from producer.report import make_console
from producer.settings import load_producer_settings

EXIT_FAILED = 1
EXIT_USAGE = 2

keys_app = typer.Typer(
    help="Create, list and revoke the HTTP API's keys (the file holds argon2 hashes only).", no_args_is_help=True
)

FileOption = Annotated[
    Path | None, typer.Option("--file", "-f", help="The keys file (default: PRODUCER_API_KEYS_FILE).")
]


def _fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    make_console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def _clear_errors() -> Iterator[None]:
    try:
        yield
    except ProducerError as exc:
        _fail(str(exc))


def _path(file: Path | None) -> Path:
    if file is not None:
        return file
    with _clear_errors():
        configured = load_producer_settings().api_keys_file
    if configured is None:
        _fail("give the keys file with --file or PRODUCER_API_KEYS_FILE", EXIT_USAGE)
    return configured


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who uses the key, e.g. crawler-bot.")],
    submit: Annotated[
        list[str] | None,
        typer.Option(
            "--submit", "-s", help="Glob of contracts it may send (repeat); alert.* and diagnostics.* only when named."
        ),
    ] = None,
    read: Annotated[list[str] | None, typer.Option(help="Glob it may read (repeat; default: --submit).")] = None,
    cancel: Annotated[list[str] | None, typer.Option(help="Glob it may cancel (repeat; default: --submit).")] = None,
    admin: Annotated[bool, typer.Option(help="Sees every contract and the full OpenAPI document.")] = False,
    rate: Annotated[str | None, typer.Option(help="Its request rate, e.g. 120/minute (default: the server's).")] = None,
    max_in_flight: Annotated[
        int | None, typer.Option(help="Its cap on unfinished tasks (default: the server's).", min=1)
    ] = None,
    file: FileOption = None,
) -> None:
    """Add a key and print it once on stdout (only its hash is stored: keep it now, it cannot be shown again)."""
    path = _path(file)
    with _clear_errors():
        keys, key = create_key(
            read_keys_file(path),
            name,
            submit=submit or [],
            read=read,
            cancel=cancel,
            admin=admin,
            rate=rate,
            max_in_flight=max_in_flight,
        )
        write_keys_file(path, keys)
    record = keys.keys[-1]
    make_console(stderr=True).print(
        f"created key {record.id} ({escape(name)}) in {escape(str(path))}; it is printed once, below",
        highlight=False,
        soft_wrap=True,
    )
    typer.echo(key)


@keys_app.command("list")
def list_keys(file: FileOption = None) -> None:
    """Show every key: id, name, scopes, limits, created and revoked (never a key nor its hash)."""
    path = _path(file)
    with _clear_errors():
        keys = read_keys_file(path)
    table = Table(title=f"API keys in {path}", title_justify="left")
    for column in ("id", "name", "submit", "read", "cancel", "admin", "rate", "in flight", "created", "revoked"):
        table.add_column(column, overflow="fold")
    for record in keys.keys:
        table.add_row(
            record.id,
            escape(record.name),
            escape(", ".join(record.submit) or "-"),
            escape(", ".join(record.read) or "-"),
            escape(", ".join(record.cancel) or "-"),
            "yes" if record.admin else "",
            record.rate or "default",
            str(record.max_in_flight or "default"),
            record.created_at.strftime("%Y-%m-%d %H:%M"),
            record.revoked_at.strftime("%Y-%m-%d %H:%M") if record.revoked_at else "",
        )
    make_console().print(table)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (see `producer keys list`).")],
    file: FileOption = None,
) -> None:
    """Revoke a key: a running `producer serve` refuses it from its next request on (no restart)."""
    path = _path(file)
    with _clear_errors():
        if not path.exists():
            _fail(f"the keys file {path} does not exist")
        write_keys_file(path, revoke_key(read_keys_file(path), key_id))
    make_console(stderr=True).print(f"revoked key {escape(key_id)} in {escape(str(path))}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the keys commands to the producer's command line."""
    app.add_typer(keys_app, name="keys")
