"""RabbitMQ objects of a contract: its exchange and quorum queue, and its dead-letter pair.

Every service builds them from this one place, so producer and consumers always
declare the same arguments (a mismatch would be refused by RabbitMQ).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from amqp.exceptions import NotFound
from kombu.entity import Exchange, Queue


def dead_letter_exchange_name(queue_name: str) -> str:
    """Exchange that receives a queue's dead letters."""
    return f"{queue_name}.dlx"


def dead_letter_queue_name(queue_name: str) -> str:
    """Queue where a contract's rejected messages are parked."""
    return f"{queue_name}.dlq"


def task_queue(name: str, delivery_limit: int) -> Queue:
    """The durable quorum queue named after the contract, bound to its own topic exchange."""
    arguments: dict[str, Any] = {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": dead_letter_exchange_name(name),
        "x-dead-letter-routing-key": dead_letter_queue_name(name),
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }
    exchange = Exchange(name, type="topic", durable=True)
    return Queue(name, exchange, routing_key=name, durable=True, queue_arguments=arguments)


def replay_staging_queue_name(queue_name: str) -> str:
    """Queue (and exchange) where a replayed message waits for its broker-side move."""
    return f"{queue_name}.replay"


def replay_router_exchange_name(queue_name: str) -> str:
    """Dead-letter exchange of the staging queue: routes a moved message to the queue or the DLQ."""
    return f"{queue_name}.replay.router"


def replay_lock_queue_name(queue_name: str) -> str:
    """Exclusive queue held by a running replay or purge of the contract."""
    return f"{queue_name}.replay.lock"


#: ``x-delivery-limit`` meaning "no limit" on RabbitMQ 4 (where quorum queues default to 20).
UNLIMITED_DELIVERIES = -1


def dead_letter_queue(name: str, broker_major: int) -> Queue:
    """The durable quorum queue holding the contract's parked messages, never dropping one.

    RabbitMQ 4 gives every quorum queue a delivery limit of 20 unless told otherwise, and a
    peeked (requeued) parked message counts as a delivery: without an explicit unlimited
    limit a dead-letter queue would drop a message after 20 peeks. RabbitMQ 3.x has no
    default limit, and reads -1 differently, so the argument is only given to 4.x.
    """
    exchange = Exchange(dead_letter_exchange_name(name), type="direct", durable=True)
    arguments: dict[str, Any] = {"x-queue-type": "quorum"}
    if broker_major >= 4:
        arguments["x-delivery-limit"] = UNLIMITED_DELIVERIES
    return Queue(
        dead_letter_queue_name(name),
        exchange,
        routing_key=dead_letter_queue_name(name),
        durable=True,
        queue_arguments=arguments,
    )


def broker_major_version(channel: Any) -> int:
    """The major version of the RabbitMQ a channel talks to (from the connection's server properties)."""
    connection = getattr(channel, "connection", None)
    properties = getattr(connection, "server_properties", None) or {}
    version = properties.get("version", b"")
    text = version.decode() if isinstance(version, bytes) else str(version)
    head = text.split(".", 1)[0]
    return int(head) if head.isdigit() else 4


def queue_exists(channel: Any, name: str) -> bool:
    """Whether a queue exists, asked on a channel of its own (a refused passive declare closes its channel)."""
    probe = channel.connection.channel()
    try:
        probe.queue_declare(queue=name, passive=True)
        return True
    except NotFound:
        return False
    finally:
        with contextlib.suppress(Exception):
            probe.close()


@dataclass(frozen=True)
class QueueCounts:
    """What a passive declare tells about a queue: its ready messages and its consumers."""

    messages: int
    consumers: int


def queue_counts(channel: Any, name: str) -> QueueCounts | None:
    """Ready messages and consumers of a queue, exact (no statistics delay); None when it does not exist.

    A refused passive declare closes the channel it was made on: pass a channel of its own
    when the caller goes on using its channel after a missing queue.
    """
    try:
        _, messages, consumers = channel.queue_declare(queue=name, passive=True)
    except NotFound:
        return None
    return QueueCounts(int(messages), int(consumers))


def declare(channel: Any, name: str, delivery_limit: int) -> None:
    """Declare a contract's dead-letter pair first, then its exchange and queue.

    A dead-letter queue that already exists is left as it is (its exchange and binding are
    declared again): one declared by an earlier release, without the explicit delivery limit,
    would refuse the new arguments and stop the service. On RabbitMQ 4 such a queue gets its
    unlimited delivery limit from the ``dead-letters-unlimited`` policy (docs/operations.md).
    """
    dlq = dead_letter_queue(name, broker_major_version(channel)).bind(channel)
    if queue_exists(channel, dlq.name):
        dlq.exchange.declare()
        dlq.queue_bind()
    else:
        dlq.declare()
    task_queue(name, delivery_limit).bind(channel).declare()
