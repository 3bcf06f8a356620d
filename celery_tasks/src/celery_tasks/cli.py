"""The `celery-tasks` command: list the contracts this package defines."""

from __future__ import annotations

import json

import click

from celery_tasks.registry import ALL_CONTRACTS


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
            "dead_letter_queue": f"{contract.name}.dlq",
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
