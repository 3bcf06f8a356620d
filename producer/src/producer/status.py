"""`producer status`: one row per contract with its queue depth, consumers, rates and dead letters.

Everything comes from the RabbitMQ management API (no task events needed). RabbitMQ samples
statistics every 5 seconds, so counts and rates lag by up to that much.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from celery_tasks.contract import Contract
from rich.table import Table
from rich.text import Text

from broker_admin import ManagementClient
from producer.contract_queues import ContractQueueStatus, contract_statuses

GROWING = "growing-without-consumer"
WAITING = "waiting-without-consumer"
FLAG_TEXT = {GROWING: "GROWING, NO CONSUMER", WAITING: "NO CONSUMER"}


@dataclass(frozen=True)
class ContractRow:
    """One contract's line of the status table."""

    contract: str
    version: int
    implemented_by: str
    declared: bool
    ready: int
    unacked: int
    consumers: int
    publish_rate: float
    deliver_rate: float
    ack_rate: float
    dead_letters: int
    flag: str | None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form."""
        return asdict(self)


def flag_for(status: ContractQueueStatus, previous_ready: int | None) -> str | None:
    """GROWING when a queue without consumers is being published to (or grew since the last look).

    WAITING when it holds messages and nobody consumes them; None when all is well.
    """
    if status.queue is None or status.consumers > 0:
        return None
    grew = previous_ready is not None and status.ready > previous_ready
    if status.queue.publish_rate > 0 or grew:
        return GROWING
    if status.ready > 0:
        return WAITING
    return None


def collect(
    client: ManagementClient,
    vhost: str,
    previous: Mapping[str, int] | None = None,
    contracts: Iterable[type[Contract[Any, Any]]] | None = None,
) -> list[ContractRow]:
    """The rows of the status table; ``previous`` maps contract names to their earlier ready counts."""
    rows = []
    for status in contract_statuses(client, vhost, contracts):
        queue = status.queue
        rows.append(
            ContractRow(
                contract=status.contract,
                version=status.version,
                implemented_by=status.implemented_by,
                declared=queue is not None,
                ready=status.ready,
                unacked=status.unacked,
                consumers=status.consumers,
                publish_rate=round(queue.publish_rate, 2) if queue else 0.0,
                deliver_rate=round(queue.deliver_rate, 2) if queue else 0.0,
                ack_rate=round(queue.ack_rate, 2) if queue else 0.0,
                dead_letters=status.dead_letters,
                flag=flag_for(status, (previous or {}).get(status.contract)),
            )
        )
    return rows


def as_json(rows: Iterable[ContractRow], vhost: str) -> dict[str, Any]:
    """The document `producer status --json` prints."""
    return {
        "vhost": vhost,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "contracts": [row.as_dict() for row in rows],
    }


def _rate(value: float) -> str:
    return f"{value:.1f}" if value else "0"


def render(rows: Iterable[ContractRow], vhost: str) -> Table:
    """The status table."""
    at = dt.datetime.now().astimezone().strftime("%H:%M:%S")
    table = Table(title=f"Queues in vhost {vhost!r} at {at}", title_justify="left")
    table.add_column("contract", no_wrap=True)
    for column in ("ready", "unacked", "consumers", "in/s", "out/s", "DLQ"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("flag", overflow="fold")
    for row in rows:
        if not row.declared:
            table.add_row(
                Text(f"{row.contract} v{row.version}", style="dim"), *(["-"] * 6), Text("not declared", "dim")
            )
            continue
        flag = Text(FLAG_TEXT[row.flag], style="bold red") if row.flag else Text("")
        table.add_row(
            f"{row.contract} v{row.version}",
            str(row.ready),
            str(row.unacked),
            Text(str(row.consumers), style="red" if row.consumers == 0 else ""),
            _rate(row.publish_rate),
            _rate(row.deliver_rate),
            Text(str(row.dead_letters), style="yellow" if row.dead_letters else ""),
            flag,
        )
    return table
