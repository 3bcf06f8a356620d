"""The broker side of a replay: one connection holding the contract's replay lock, with a confirm channel."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from typing import Any

import amqp
from amqp.exceptions import ResourceLocked
from celery_tasks.contract import Contract
from celery_tasks.runtime.connectivity import drop_connection
from celery_tasks.runtime.factory import create_app
from celery_tasks.settings import TaskSettings

from celery_tasks import topology
from producer.dead_letters.copies import SOURCE_HEADER
from producer.dead_letters.journal import ReplayJournal
from producer.errors import DeadLetterError, ReplayLocked

COPIED_PROPERTIES = ("content_type", "content_encoding", "correlation_id", "reply_to", "priority", "message_id")
TO_QUEUE = "to-queue"
TO_DLQ = "to-dlq"


def _ignore(phase: str) -> None:
    """The default phase observer: nothing to do."""


class DeadLetterMover:
    """One connection holding a contract's replay lock, with a publisher-confirm channel."""

    def __init__(
        self,
        settings: TaskSettings,
        contract: type[Contract[Any, Any]],
        journal: ReplayJournal,
        *,
        lock_timeout: float = 30.0,
        on_phase: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.contract = contract
        self.name = contract.name
        self.dlq = topology.dead_letter_queue_name(contract.name)
        self.staging = topology.replay_staging_queue_name(contract.name)
        self.journal = journal
        self.lock_timeout = lock_timeout
        self.on_phase: Callable[[str], None] = on_phase or _ignore
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
            drop_connection(connection)
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc_info: object) -> None:
        if kind is not None:  # the exchange may have stopped mid-frame: no close handshake
            drop_connection(self._connection)
            return
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
                    queue=topology.replay_lock_queue_name(self.name),
                    exclusive=True,
                    auto_delete=True,
                    arguments={"x-queue-type": "classic"},
                )
                return
            except ResourceLocked:
                if time.monotonic() >= deadline:
                    raise ReplayLocked(
                        f"another replay or purge of {self.name} is running "
                        f"(it holds {topology.replay_lock_queue_name(self.name)}); try again when it has finished"
                    ) from None
                time.sleep(0.5)

    def _declare(self) -> None:
        """The contract's queues, the staging queue and the router that moves staged messages on."""
        channel = self.channel
        topology.declare(channel, self.name, self.settings.delivery_limit)
        router = topology.replay_router_exchange_name(self.name)
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
        counts = topology.queue_counts(self.channel, queue)
        if counts is None:
            raise DeadLetterError(f"queue {queue} does not exist (deleted during the replay?)")
        return counts.messages

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
