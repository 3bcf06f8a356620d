"""Dead-letter tooling: list, replay and purge the messages parked in a contract's ``<name>.dlq``.

Replay moves one message at a time and leaves every message in exactly one place, even when
the replay process is killed at any instruction:

1. ``basic.get`` the parked copy M from ``<name>.dlq`` without acking it (a crash returns it);
2. validate it against the current contract: a valid copy M' is headed for the queue, an invalid
   one goes back to the dead-letter queue with the refusal as its new reason;
3. publish M' (parking and broker headers stripped, ``x-replay-count`` + 1, ``x-replay-source`` =
   M's key) to the *staging* queue ``<name>.replay`` and wait for the publisher confirm;
4. journal "staged M" (an fsync'd line), ack M, make a synchronous round trip so the ack is
   processed, journal "acked M";
5. take M' from staging and reject it: the broker dead-letters it (at-least-once strategy) through
   ``<name>.replay.router`` to ``<name>`` or ``<name>.dlq``, a move done inside the broker.

A later run first finishes whatever an interrupted run left in staging, and acks (skips) any
parked copy whose key the journal shows as staged, so a crash between the confirm and the ack
neither loses nor duplicates. Unlike a publish-then-ack journal, nothing depends on the journal
write racing the confirm: if the crash comes after the confirm but before "staged" is written,
M' is found in staging (a queue no worker consumes) and its source key is journaled then.
A broker-side exclusive queue ``<name>.replay.lock`` keeps replays of one contract apart, and is
released by the broker when a killed replay's connection closes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import amqp
from amqp.exceptions import NotFound, ResourceLocked
from celery_tasks.contract import Contract
from celery_tasks.errors import InvalidArguments
from celery_tasks.factory import create_app
from celery_tasks.management import DeadLetter, ManagementClient, decode_task_body
from celery_tasks.parking import MAX_REASON_CHARS
from celery_tasks.registry import get_contract
from celery_tasks.settings import TaskSettings

from celery_tasks import headers as header_names
from celery_tasks import topology
from producer.errors import ProducerError

CRASH_ENV = "PRODUCER_REPLAY_CRASH_AFTER"
CRASH_EXIT_CODE = 75
JOURNAL_ENV = "PRODUCER_REPLAY_JOURNAL_DIR"
SOURCE_HEADER = "x-replay-source"
PARKED_BEFORE_HEADER = "x-parked-before"
TO_QUEUE = "to-queue"
TO_DLQ = "to-dlq"
JOURNAL_KEEP_DAYS = 30
DONE_PHASES = frozenset({"staged", "acked", "forwarded"})
PHASES = ("got", "published", "staged", "ack-sent", "acked", "forwarded")
BROKER_HEADERS = (
    "x-death",
    "x-delivery-count",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
)
COPIED_PROPERTIES = ("content_type", "content_encoding", "correlation_id", "reply_to", "priority", "message_id")


class DeadLetterError(ProducerError):
    """Raised when a dead-letter command cannot do its work; the message says why."""


class ReplayLocked(DeadLetterError):
    """Raised when another replay or purge of the same contract holds the broker-side lock."""


def staging_queue_name(name: str) -> str:
    """Queue (and exchange) where a replayed message waits for its broker-side move."""
    return f"{name}.replay"


def router_exchange_name(name: str) -> str:
    """Dead-letter exchange of the staging queue: routes a moved message to the queue or the DLQ."""
    return f"{name}.replay.router"


def lock_queue_name(name: str) -> str:
    """Exclusive queue held by a running replay or purge of the contract."""
    return f"{name}.replay.lock"


def default_journal_dir() -> Path:
    """``$PRODUCER_REPLAY_JOURNAL_DIR``, else ``$XDG_STATE_HOME/celery-tasks/replay`` (~/.local/state)."""
    configured = os.environ.get(JOURNAL_ENV)
    if configured:
        return Path(configured)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "celery-tasks" / "replay"


def resolve_contract(name: str) -> type[Contract[Any, Any]]:
    """The contract of a name, accepting the dead-letter queue's name too."""
    return get_contract(name.removesuffix(".dlq"))


# -- crash injection (tests) ---------------------------------------------------------------------------


class CrashInjector:
    """Ends the process with os._exit at the N-th time a phase is reached (PRODUCER_REPLAY_CRASH_AFTER=N:phase)."""

    def __init__(self, spec: str | None) -> None:
        self.target: tuple[int, str] | None = None
        self.counts: dict[str, int] = {}
        if spec:
            count, _, phase = spec.partition(":")
            if phase not in PHASES or not count.isdigit():
                raise DeadLetterError(f"{CRASH_ENV} must look like '3:staged' with a phase among {', '.join(PHASES)}")
            self.target = (int(count), phase)

    def reached(self, phase: str) -> None:
        """Count a phase, and crash when it is the configured one."""
        self.counts[phase] = self.counts.get(phase, 0) + 1
        if self.target == (self.counts[phase], phase):
            sys.stderr.write(f"replay: crash injected after {phase} #{self.counts[phase]}\n")
            sys.stderr.flush()
            os._exit(CRASH_EXIT_CODE)


# -- journal -----------------------------------------------------------------------------------------------


class ReplayJournal:
    """An append-only file of fsync'd JSON lines: the last phase each parked message reached."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.phases: dict[str, dict[str, Any]] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            text = path.read_text(encoding="utf-8")
            if text and not text.endswith("\n"):  # a write torn by a crash: start the next record on a new line
                self._append("\n")
            for line in text.splitlines():
                with contextlib.suppress(ValueError):  # a line torn by a crash is ignored
                    record = json.loads(line)
                    if isinstance(record, dict) and "key" in record:
                        self.phases[str(record["key"])] = record

    @classmethod
    def for_contract(cls, directory: Path, vhost: str, contract: str) -> ReplayJournal:
        """The journal of one contract in one vhost."""
        return cls(directory / quote(vhost, safe="") / f"{contract}.jsonl")

    def phase(self, key: str) -> str | None:
        """The last phase journaled for a key."""
        record = self.phases.get(key)
        return None if record is None else str(record.get("phase"))

    def record(self, key: str, phase: str, **extra: Any) -> None:
        """Append one line and fsync it before returning."""
        record = {"key": key, "phase": phase, "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **extra}
        self._append(json.dumps(record, sort_keys=True) + "\n")
        self.phases[key] = record

    def _append(self, text: str) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())

    def compact(self, keep_days: int = JOURNAL_KEEP_DAYS) -> None:
        """Rewrite the file with the last line per key, dropping moves finished more than ``keep_days`` ago."""
        limit = (dt.datetime.now(dt.UTC) - dt.timedelta(days=keep_days)).isoformat(timespec="seconds")
        kept = [r for r in self.phases.values() if r.get("phase") != "forwarded" or str(r.get("at", "")) >= limit]
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, sort_keys=True) + "\n" for r in kept)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self.phases = {str(r["key"]): r for r in kept}


# -- messages ----------------------------------------------------------------------------------------------


def _int_header(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def task_id_of(found: Mapping[str, Any], properties: Mapping[str, Any], body: bytes) -> str:
    """The Celery task id of a message, else its message id, else a hash of its body."""
    for value in (found.get("id"), properties.get("message_id"), properties.get("correlation_id")):
        if value:
            return str(value)
    return "sha256:" + hashlib.sha256(body).hexdigest()[:24]


def message_key(task_id: str, found: Mapping[str, Any]) -> str:
    """Identity of one parked copy: its task id and how many times replay has handled it."""
    return f"{task_id}:{_int_header(found.get(header_names.REPLAYED))}"


def check_message(
    contract: type[Contract[Any, Any]], found: Mapping[str, Any], body: bytes, content_type: str
) -> tuple[str, str] | None:
    """Why a parked message cannot run under the current contract (error type, reason), or None when it can."""
    if content_type != "application/json":
        return "UnsupportedContentType", f"content type {content_type!r}: only JSON task messages can be replayed"
    decoded = decode_task_body(body)
    if decoded is None:
        return "UndecodableMessage", "the body is not a Celery protocol 2 JSON message [args, kwargs, embed]"
    task = found.get("task")
    if task != contract.name:
        return "UnknownContract", f"task name {task!r} is not {contract.name!r}, the contract of this queue"
    version = found.get(header_names.VERSION)
    accepted = contract.accepted_versions()
    if version is not None and (not isinstance(version, int) or version not in accepted):
        return "UnsupportedVersion", (
            f"contract version {version!r} is not accepted by the current {contract.name} "
            f"(version {contract.version}, accepts {accepted.start}..{accepted.stop - 1})"
        )
    args, kwargs, _ = decoded
    try:
        contract.parse_arguments(args, kwargs)
    except InvalidArguments as exc:
        return "InvalidArguments", str(exc)
    return None


def replayed_headers(found: Mapping[str, Any], source_key: str) -> dict[str, Any]:
    """Headers of a copy going back to the queue: parking and broker headers stripped, replay counted."""
    stripped = set(header_names.PARKING_HEADERS) | set(BROKER_HEADERS)
    result = {key: value for key, value in found.items() if key not in stripped}
    result[header_names.REPLAYED] = _int_header(found.get(header_names.REPLAYED)) + 1
    result[SOURCE_HEADER] = source_key
    return result


def refused_headers(found: Mapping[str, Any], source_key: str, error_type: str, reason: str) -> dict[str, Any]:
    """Headers of a copy that stays parked: the refusal as its new reason, replay counted."""
    result = {key: value for key, value in found.items() if key not in BROKER_HEADERS}
    if PARKED_BEFORE_HEADER not in result and found.get(header_names.REASON):
        before = f"{found.get(header_names.ERROR_TYPE)}: {found.get(header_names.REASON)}"
        result[PARKED_BEFORE_HEADER] = before[:MAX_REASON_CHARS]
    result.update(
        {
            header_names.REASON: f"replay refused: {reason}"[:MAX_REASON_CHARS],
            header_names.ERROR_TYPE: error_type,
            header_names.PARKED_BY: f"producer-replay@{socket.gethostname()}",
            header_names.PARKED_AT: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            header_names.REPLAYED: _int_header(found.get(header_names.REPLAYED)) + 1,
            SOURCE_HEADER: source_key,
        }
    )
    return result


# -- results -----------------------------------------------------------------------------------------------


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


# -- the broker side ---------------------------------------------------------------------------------------


class DeadLetterMover:
    """One connection holding a contract's replay lock, with a publisher-confirm channel."""

    def __init__(
        self,
        settings: TaskSettings,
        contract: type[Contract[Any, Any]],
        journal: ReplayJournal,
        *,
        lock_timeout: float = 30.0,
        crash: CrashInjector | None = None,
    ) -> None:
        self.settings = settings
        self.contract = contract
        self.name = contract.name
        self.dlq = topology.dead_letter_queue_name(contract.name)
        self.staging = staging_queue_name(contract.name)
        self.journal = journal
        self.lock_timeout = lock_timeout
        self.crash = crash or CrashInjector(os.environ.get(CRASH_ENV))
        self.app = create_app([contract], settings)
        self._connection: Any = None
        self.channel: Any = None
        self._returned: list[Any] = []

    def __enter__(self) -> DeadLetterMover:
        connection = self.app.connection_for_write()
        try:
            connection.ensure_connection(max_retries=self.settings.publish_retries)
        except Exception as exc:
            connection.release()
            raise DeadLetterError(
                f"cannot connect to the broker at {self.settings.redacted_broker_url()}: {type(exc).__name__}"
            ) from None
        self._connection = connection
        try:
            self._acquire_lock()
            self.channel = connection.channel()
            self.channel.events["basic_return"].add(self._on_return)
            self._declare()
        except BaseException:
            connection.release()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(Exception):
            self._connection.release()

    def _on_return(self, *args: Any) -> None:
        self._returned.append(args)

    def _acquire_lock(self) -> None:
        """Declare the exclusive lock queue; the broker refuses it while another connection holds it."""
        deadline = time.monotonic() + self.lock_timeout
        while True:
            channel = self._connection.channel()
            try:
                channel.queue_declare(
                    queue=lock_queue_name(self.name),
                    exclusive=True,
                    auto_delete=True,
                    arguments={"x-queue-type": "classic"},
                )
                return
            except ResourceLocked:
                if time.monotonic() >= deadline:
                    raise ReplayLocked(
                        f"another replay or purge of {self.name} is running (it holds {lock_queue_name(self.name)}); "
                        "try again when it has finished"
                    ) from None
                time.sleep(0.5)

    def _declare(self) -> None:
        """The contract's queues, the staging queue and the router that moves staged messages on."""
        channel = self.channel
        topology.declare(channel, self.name, self.settings.delivery_limit)
        router = router_exchange_name(self.name)
        channel.exchange_declare(self.staging, "direct", durable=True, auto_delete=False)
        channel.exchange_declare(router, "direct", durable=True, auto_delete=False)
        channel.queue_declare(
            queue=self.staging,
            durable=True,
            auto_delete=False,
            arguments={
                "x-queue-type": "quorum",
                "x-dead-letter-exchange": router,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
        for key in (TO_QUEUE, TO_DLQ):
            channel.queue_bind(self.staging, self.staging, key)
        channel.queue_bind(self.name, router, TO_QUEUE)
        channel.queue_bind(self.dlq, router, TO_DLQ)

    def depth(self, queue: str) -> int:
        """Ready messages in a queue; a synchronous round trip, so earlier acks on this channel are processed."""
        _, count, _ = self.channel.queue_declare(queue=queue, passive=True)
        return int(count)

    def requeue(self, tags: Iterable[int]) -> None:
        """Give held messages back to their queue."""
        for tag in tags:
            self.channel.basic_reject(tag, requeue=True)

    def settled_depth(self, queue: str, at_least: int) -> int:
        """Ready messages in a queue once at least ``at_least`` of them are back (bounded by the confirm timeout).

        Requeued messages and messages the broker dead-letters from staging reach a quorum queue
        asynchronously (at-least-once dead-lettering confirms each move inside the broker), so a
        count read at once may miss a message that is still on its way, though nothing is lost.
        """
        deadline = time.monotonic() + self.settings.confirm_timeout
        count = self.depth(queue)
        while count < at_least and time.monotonic() < deadline:
            time.sleep(0.05)
            count = self.depth(queue)
        return count

    def get(self, queue: str) -> Any:
        """The next message of a queue, held unacknowledged, or None."""
        return self.channel.basic_get(queue=queue, no_ack=False)

    def publish_staged(self, message: Any, headers: dict[str, Any], destination: str) -> None:
        """Publish a copy to the staging queue and wait for the broker's confirm."""
        body = message.body if isinstance(message.body, bytes) else str(message.body).encode("utf-8")
        properties = {key: message.properties[key] for key in COPIED_PROPERTIES if message.properties.get(key)}
        copy = amqp.Message(body, application_headers=headers, delivery_mode=2, **properties)
        self._returned.clear()
        self.channel.basic_publish(
            copy,
            exchange=self.staging,
            routing_key=destination,
            mandatory=True,
            confirm_timeout=self.settings.confirm_timeout,
        )
        if self._returned:
            raise DeadLetterError(f"the broker could not route a copy to {self.staging}; nothing was moved")

    def forward_staged(self) -> list[str]:
        """Move everything in staging to its destination (a broker-side dead-lettering); their source keys."""
        sources = []
        while (staged := self.get(self.staging)) is not None:
            sources.append(str((staged.headers or {}).get(SOURCE_HEADER, "")))
            self.channel.basic_reject(staged.delivery_tag, requeue=False)
        if sources:
            self.depth(self.staging)
        return sources


def _body_bytes(message: Any) -> bytes:
    body = message.body
    return body if isinstance(body, bytes) else str(body).encode(message.properties.get("content_encoding") or "utf-8")


def replay(
    settings: TaskSettings,
    name: str,
    *,
    task_id: str | None = None,
    journal_dir: Path | None = None,
    lock_timeout: float = 30.0,
    progress: Callable[[str], None] = lambda _: None,
    contract: type[Contract[Any, Any]] | None = None,
) -> ReplayReport:
    """Move parked messages of a contract back to its queue (one ``task_id``, or all when it is None).

    Messages are validated against ``contract`` (by default this producer's version of the contract
    named ``name``): after a breaking change, replay with the new version once its consumers run.
    """
    contract = contract or resolve_contract(name)
    journal = ReplayJournal.for_contract(journal_dir or default_journal_dir(), settings.vhost, contract.name)
    report = ReplayReport(contract=contract.name, found=task_id is None)
    with DeadLetterMover(settings, contract, journal, lock_timeout=lock_timeout) as mover:
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
                mover.crash.reached("got")
                found = dict(message.headers or {})
                body = _body_bytes(message)
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
        produced.add(message_key(task_id_of(found, staged.properties, _body_bytes(staged)), found))
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
    mover.crash.reached("published")
    journal.record(key, "staged", destination=destination)
    mover.crash.reached("staged")
    mover.channel.basic_ack(message.delivery_tag)
    mover.crash.reached("ack-sent")
    mover.depth(mover.dlq)
    mover.crash.reached("acked")
    journal.record(key, "acked")
    mover.forward_staged()
    mover.crash.reached("forwarded")
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


def dead_letter_depth(settings: TaskSettings, name: str) -> int | None:
    """Ready messages in a contract's dead-letter queue, read over AMQP (exact, no statistics delay)."""
    contract = resolve_contract(name)
    app = create_app([contract], settings)
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=settings.publish_retries)
        try:
            _, count, _ = connection.default_channel.queue_declare(
                queue=topology.dead_letter_queue_name(contract.name), passive=True
            )
        except NotFound:
            return None
    return int(count)


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
    letters = client.peek_dead_letters(vhost, contract.name, limit)
    listed = [
        ListedDeadLetter(letter, journal.phase(f"{letter.task_id}:{letter.replay_count}") in DONE_PHASES)
        for letter in letters
    ]
    return max(stats.messages, len(letters)), listed


def iter_phases() -> Iterator[str]:
    """The crash-injection phases, in the order one move reaches them."""
    yield from PHASES
