"""Replay and purge: move parked copies one at a time, each in exactly one place at every instruction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery_tasks.contract import Contract
from celery_tasks.settings import TaskSettings

from producer.dead_letters.copies import (
    SOURCE_HEADER,
    body_bytes,
    check_message,
    message_key,
    refused_headers,
    replayed_headers,
    task_id_of,
)
from producer.dead_letters.journal import DONE_PHASES, ReplayJournal, default_journal_dir
from producer.dead_letters.listing import resolve_contract
from producer.dead_letters.mover import TO_DLQ, TO_QUEUE, DeadLetterMover

#: The points one move passes, in order (``on_phase`` observers see each).
PHASES = ("got", "published", "staged", "ack-sent", "acked", "forwarded")


@dataclass
class ReplayReport:
    """What a replay run did."""

    contract: str
    moved: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    remaining: int = 0
    found: bool = True

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form."""
        return {
            "contract": self.contract,
            "moved": self.moved,
            "refused": [{"task_id": task_id, "reason": reason} for task_id, reason in self.refused],
            "leftovers_removed": self.leftovers,
            "recovered": self.recovered,
            "remaining_in_dlq": self.remaining,
            "found": self.found,
        }


def replay(
    settings: TaskSettings,
    name: str,
    *,
    task_id: str | None = None,
    journal_dir: Path | None = None,
    lock_timeout: float = 30.0,
    progress: Callable[[str], None] = lambda _: None,
    contract: type[Contract[Any, Any]] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> ReplayReport:
    """Move parked messages of a contract back to its queue (one ``task_id``, or all when it is None).

    Messages are validated against ``contract`` (by default this producer's version of the contract
    named ``name``): after a breaking change, replay with the new version once its consumers run.
    ``on_phase`` is called with each of PHASES as one move reaches it.
    """
    contract = contract or resolve_contract(name)
    journal = ReplayJournal.for_contract(journal_dir or default_journal_dir(), settings.vhost, contract.name)
    report = ReplayReport(contract=contract.name, found=task_id is None)
    with DeadLetterMover(settings, contract, journal, lock_timeout=lock_timeout, on_phase=on_phase) as mover:
        produced = _recover(mover, journal, report, progress)
        held: list[tuple[int, str]] = []
        parked_again: set[str] = set()
        budget = mover.depth(mover.dlq)
        try:
            while budget > 0:
                message = mover.get(mover.dlq)
                if message is None:
                    break
                budget -= 1
                mover.on_phase("got")
                found = dict(message.headers or {})
                body = body_bytes(message)
                this_id = task_id_of(found, message.properties, body)
                key = message_key(this_id, found)
                if key in produced or (
                    task_id is not None and this_id != task_id and journal.phase(key) not in DONE_PHASES
                ):
                    held.append((message.delivery_tag, key))
                    continue
                if journal.phase(key) in DONE_PHASES:
                    _remove_leftover(mover, journal, message, key)
                    report.leftovers.append(this_id)
                    progress(f"removed {this_id}: a copy of a message replay had already moved")
                    continue
                refusal = check_message(contract, found, body, str(message.properties.get("content_type", "")))
                if refusal is None:
                    destination, new_headers = TO_QUEUE, replayed_headers(found, key)
                else:
                    destination, new_headers = TO_DLQ, refused_headers(found, key, *refusal)
                produced.add(message_key(this_id, new_headers))
                _move(mover, journal, message, key, new_headers, destination)
                if refusal is None:
                    report.moved.append(this_id)
                    progress(f"replayed {this_id}")
                else:
                    report.refused.append((this_id, refusal[1]))
                    parked_again.add(message_key(this_id, new_headers))
                    progress(f"refused {this_id}: {refusal[0]}: {refusal[1].splitlines()[0]}")
                if task_id is not None:
                    report.found = True
                    break
        finally:
            mover.requeue(tag for tag, _ in held)
        # Everything held is requeued and every refused copy is on its way back: count once they are in.
        report.remaining = mover.settled_depth(mover.dlq, len(held) + len(parked_again - {key for _, key in held}))
        journal.compact()
    return report


def _recover(
    mover: DeadLetterMover, journal: ReplayJournal, report: ReplayReport, say: Callable[[str], None]
) -> set[str]:
    """Finish the moves an interrupted run left in staging, journaling their sources first; the moved keys."""
    produced = set()
    while (staged := mover.get(mover.staging)) is not None:
        found = dict(staged.headers or {})
        produced.add(message_key(task_id_of(found, staged.properties, body_bytes(staged)), found))
        source = str(found.get(SOURCE_HEADER, ""))
        if source and journal.phase(source) not in DONE_PHASES:
            journal.record(source, "staged", recovered=True)
        mover.channel.basic_reject(staged.delivery_tag, requeue=False)
        mover.depth(mover.staging)
        if source:
            journal.record(source, "forwarded", recovered=True)
        report.recovered.append(source.rpartition(":")[0] or "?")
        say(f"finished the interrupted move of {source or 'a staged message'}")
    return produced


def _remove_leftover(mover: DeadLetterMover, journal: ReplayJournal, message: Any, key: str) -> None:
    mover.channel.basic_ack(message.delivery_tag)
    mover.depth(mover.dlq)
    if journal.phase(key) != "forwarded":
        journal.record(key, "acked")


def _move(
    mover: DeadLetterMover,
    journal: ReplayJournal,
    message: Any,
    key: str,
    new_headers: dict[str, Any],
    destination: str,
) -> None:
    """Steps 3 to 5 of the module docstring for one message."""
    mover.publish_staged(message, new_headers, destination)
    mover.on_phase("published")
    journal.record(key, "staged", destination=destination)
    mover.on_phase("staged")
    mover.channel.basic_ack(message.delivery_tag)
    mover.on_phase("ack-sent")
    mover.depth(mover.dlq)
    mover.on_phase("acked")
    journal.record(key, "acked")
    mover.forward_staged()
    mover.on_phase("forwarded")
    journal.record(key, "forwarded", destination=destination)


def purge(settings: TaskSettings, name: str, *, lock_timeout: float = 30.0, journal_dir: Path | None = None) -> int:
    """Remove every ready message of a contract's dead-letter queue; how many were removed.

    Holds the replay lock, and first finishes any move an interrupted replay left in staging.
    """
    contract = resolve_contract(name)
    journal = ReplayJournal.for_contract(journal_dir or default_journal_dir(), settings.vhost, contract.name)
    with DeadLetterMover(settings, contract, journal, lock_timeout=lock_timeout) as mover:
        _recover(mover, journal, ReplayReport(contract=contract.name), lambda _: None)
        return int(mover.channel.queue_purge(mover.dlq) or 0)
