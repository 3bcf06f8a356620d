"""What the dead-letter queues hold: counts and parked copies, left in place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery_tasks.contract import Contract
from celery_tasks.registry import get_contract
from celery_tasks.runtime.connectivity import one_off_connection
from celery_tasks.runtime.factory import create_app
from celery_tasks.settings import TaskSettings

from broker_admin import ManagementClient
from celery_tasks import topology
from producer.dead_letters.journal import DONE_PHASES, ReplayJournal, default_journal_dir
from producer.dead_letters.letters import DeadLetter, peek_dead_letters


def resolve_contract(name: str) -> type[Contract[Any, Any]]:
    """The contract of a name, accepting the dead-letter queue's name too."""
    return get_contract(name.removesuffix(".dlq"))


@dataclass
class ListedDeadLetter:
    """A parked message as `dlq list` shows it."""

    letter: DeadLetter
    leftover: bool

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form."""
        item = self.letter
        return {
            "task_id": item.task_id,
            "task": item.task,
            "error_type": item.error_type,
            "reason": item.reason,
            "parked_at": item.parked_at,
            "parked_by": item.parked_by,
            "contract_version": item.contract_version,
            "worker_version": item.worker_version,
            "replay_count": item.replay_count,
            "args": item.args,
            "kwargs": item.kwargs,
            "already_replayed": self.leftover,
        }


def dead_letter_depth(settings: TaskSettings, name: str) -> int | None:
    """Ready messages in a contract's dead-letter queue, read over AMQP (exact, no statistics delay)."""
    contract = resolve_contract(name)
    app = create_app([contract], settings)
    with one_off_connection(app) as connection:
        connection.ensure_connection(max_retries=settings.publish_retries)
        counts = topology.queue_counts(connection.default_channel, topology.dead_letter_queue_name(contract.name))
    return counts.messages if counts else None


def list_dead_letters(
    client: ManagementClient, settings: TaskSettings, name: str, *, limit: int = 50, journal_dir: Path | None = None
) -> tuple[int, list[ListedDeadLetter]]:
    """How many messages a contract's DLQ holds, and up to ``limit`` of them, left in place."""
    contract = resolve_contract(name)
    vhost = settings.vhost
    dlq = topology.dead_letter_queue_name(contract.name)
    stats = client.queue_stats(vhost).get(dlq)
    if stats is None:
        return 0, []
    journal = ReplayJournal.for_contract(journal_dir or default_journal_dir(), vhost, contract.name)
    letters = peek_dead_letters(client, vhost, contract.name, limit)
    listed = [
        ListedDeadLetter(letter, journal.phase(f"{letter.task_id}:{letter.replay_count}") in DONE_PHASES)
        for letter in letters
    ]
    return max(stats.messages, len(letters)), listed
