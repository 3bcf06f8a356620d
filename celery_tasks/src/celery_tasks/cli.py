"""The `celery-tasks` command: list the contracts, export their schemas, gate incompatible changes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from celery_tasks import schema, topology
from celery_tasks.registry import ALL_CONTRACTS

DEFAULT_SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


@click.group()
def main() -> None:
    """Typed task contracts on Celery and RabbitMQ."""


@main.command("contracts")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def contracts(as_json: bool) -> None:
    """List every contract: name, version, queue and implementing service."""
    rows = [
        {
            "name": contract.name,
            "version": contract.version,
            "queue": contract.name,
            "dead_letter_queue": topology.dead_letter_queue_name(contract.name),
            "implemented_by": contract.implemented_by,
            "fingerprint": contract.fingerprint,
        }
        for contract in ALL_CONTRACTS
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['name']:<22} v{row['version']}  queue={row['queue']:<22} {row['implemented_by']}")


@main.group("schema")
def schema_group() -> None:
    """Schema snapshots of the contracts and the compatibility gate."""


@schema_group.command("export")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=DEFAULT_SCHEMA_DIR, show_default=True)
def export(directory: Path) -> None:
    """Write each contract's name, version and argument/result JSON schemas into the snapshot folder."""
    for path in schema.export(ALL_CONTRACTS, directory):
        click.echo(f"wrote {path}")


@schema_group.command("check")
@click.option(
    "--against", default=None, help="Snapshot folder or git revision to compare with (default: the committed folder)."
)
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=DEFAULT_SCHEMA_DIR, show_default=True)
@click.option("--require-current", is_flag=True, help="Also fail when compatible changes were not exported yet.")
def check(against: str | None, directory: Path, require_current: bool) -> None:
    """Compare the contracts with a snapshot; fail on a breaking change that kept its version."""
    try:
        if against is None or Path(against).is_dir():
            snapshots = schema.load_directory(Path(against) if against else directory)
        else:
            snapshots = schema.load_git_ref(against, directory)
    except schema.SnapshotError as exc:
        raise click.ClickException(str(exc)) from None
    errors: list[str] = []
    for report in schema.check(ALL_CONTRACTS, snapshots):
        for change in report.changes:
            click.echo(f"  {change.describe()}")
        errors += report.errors
        if require_current and not report.errors and (report.fingerprint_changed or report.old_version is None):
            errors.append(f"{report.name}: changed since the snapshot; run `celery-tasks schema export` and commit it")
        if (
            report.old_version is not None
            and report.new_version is not None
            and report.new_version > report.old_version
        ):
            click.echo(f"  {report.name}: version {report.old_version} -> {report.new_version}")
    if errors:
        click.echo("contract compatibility check failed:", err=True)
        for error in errors:
            click.echo(f"  {error}", err=True)
        sys.exit(1)
    click.echo(f"contract compatibility check passed ({len(ALL_CONTRACTS)} contracts)")
