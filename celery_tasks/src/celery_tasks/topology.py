"""RabbitMQ objects of a contract: its exchange and quorum queue, and its dead-letter pair.

Every service builds them from this one place, so producer and consumers always
declare the same arguments (a mismatch would be refused by RabbitMQ).
"""

from __future__ import annotations

from typing import Any

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


def dead_letter_queue(name: str) -> Queue:
    """The durable quorum queue holding the contract's parked messages."""
    exchange = Exchange(dead_letter_exchange_name(name), type="direct", durable=True)
    return Queue(
        dead_letter_queue_name(name),
        exchange,
        routing_key=dead_letter_queue_name(name),
        durable=True,
        queue_arguments={"x-queue-type": "quorum"},
    )


def declare(channel: Any, name: str, delivery_limit: int) -> None:
    """Declare a contract's dead-letter pair first, then its exchange and queue."""
    for queue in (dead_letter_queue(name), task_queue(name, delivery_limit)):
        queue.bind(channel).declare()
