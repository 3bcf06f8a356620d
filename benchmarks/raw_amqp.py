"""The ceiling: what py-amqp alone does on this broker, with the same guarantees as the project.

Publishing is persistent, into a durable quorum queue, with publisher confirms awaited in
batches; consuming acks every message; the request-reply round trip publishes a
confirmed persistent request into a quorum queue, and a server process (``serve``) acks
it after sending the reply to the caller's exclusive reply queue.
"""

from __future__ import annotations

import json
import os
import select
import sys
import time
import uuid

import amqp

QUORUM = {"x-queue-type": "quorum"}
BODY = json.dumps([[], {"text": "hello", "number": 1}, {}]).encode()


def connect(vhost: str, *, confirm_publish: bool = False) -> amqp.Connection:
    """A py-amqp connection to the local broker's vhost."""
    connection = amqp.Connection(
        host=os.environ.get("BENCH_AMQP_HOST", "127.0.0.1:5672"),
        userid="guest",
        password="guest",
        virtual_host=vhost,
        confirm_publish=confirm_publish,
    )
    connection.connect()
    return connection


def declare_quorum(channel: amqp.Channel, name: str) -> None:
    """A durable quorum queue like the project's contract queues."""
    channel.queue_declare(name, durable=True, auto_delete=False, arguments=QUORUM)


class BatchConfirmer:
    """Publishes on a channel in confirm mode and waits until every message is confirmed."""

    def __init__(self, connection: amqp.Connection, channel: amqp.Channel) -> None:
        self.connection = connection
        self.channel = channel
        self.published = 0
        self.confirmed_upto = 0
        self.singles: set[int] = set()
        self.nacked = 0
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)

    def _on_ack(self, tag: int, multiple: bool) -> None:
        if multiple:
            self.confirmed_upto = max(self.confirmed_upto, tag)
        else:
            self.singles.add(tag)

    def _all_confirmed(self) -> bool:
        while self.confirmed_upto < self.published and self.confirmed_upto + 1 in self.singles:
            self.confirmed_upto += 1
            self.singles.discard(self.confirmed_upto)
        return self.confirmed_upto >= self.published

    def _on_nack(self, tag: int, multiple: bool) -> None:
        self.nacked += 1
        self._on_ack(tag, multiple)

    def publish(self, message: amqp.Message, routing_key: str) -> None:
        """Publish without waiting (the channel's raw publish, even on a confirm_publish connection)."""
        self.channel._basic_publish(message, exchange="", routing_key=routing_key)
        self.published += 1

    def wait(self, timeout: float = 30.0) -> None:
        """Block until the broker has confirmed everything published so far."""
        deadline = time.monotonic() + timeout
        while not self._all_confirmed():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.published - self.confirmed_upto} confirms missing")
            self.connection.drain_events(timeout=timeout)
        if self.nacked:
            raise RuntimeError(f"{self.nacked} messages nacked")


def publish_batched(vhost: str, queue: str, count: int, batch: int) -> float:
    """Persistent publishes per second into a quorum queue, confirms awaited every ``batch`` messages."""
    connection = connect(vhost)
    channel = connection.channel()
    declare_quorum(channel, queue)
    confirmer = BatchConfirmer(connection, channel)
    started = time.perf_counter()
    for index in range(count):
        message = amqp.Message(BODY, delivery_mode=2, content_type="application/json", message_id=str(index))
        confirmer.publish(message, queue)
        if confirmer.published % batch == 0:
            confirmer.wait()
    confirmer.wait()
    elapsed = time.perf_counter() - started
    connection.close()
    return count / elapsed


def publish_each_confirmed(vhost: str, queue: str, count: int) -> float:
    """Persistent publishes per second, waiting for each confirm (what kombu's confirm_publish does)."""
    connection = connect(vhost, confirm_publish=True)
    channel = connection.channel()
    declare_quorum(channel, queue)
    started = time.perf_counter()
    for _ in range(count):
        channel.basic_publish(amqp.Message(BODY, delivery_mode=2), exchange="", routing_key=queue)
    elapsed = time.perf_counter() - started
    connection.close()
    return count / elapsed


def publish_unconfirmed(vhost: str, queue: str, count: int) -> float:
    """Persistent publishes per second without confirms (not safe: for reference only)."""
    connection = connect(vhost)
    channel = connection.channel()
    declare_quorum(channel, queue)
    started = time.perf_counter()
    for _ in range(count):
        channel.basic_publish(amqp.Message(BODY, delivery_mode=2), exchange="", routing_key=queue)
    channel.queue_declare(queue, passive=True)  # a round trip: everything before it was received
    elapsed = time.perf_counter() - started
    connection.close()
    return count / elapsed


def consume_acked(vhost: str, queue: str, count: int, prefetch: int = 100) -> float:
    """Messages per second consumed from a quorum queue, acking each one."""
    connection = connect(vhost)
    channel = connection.channel()
    channel.basic_qos(0, prefetch, False)
    received = 0

    def on_message(message: amqp.Message) -> None:
        nonlocal received
        received += 1
        channel.basic_ack(message.delivery_tag)

    channel.basic_consume(queue, callback=on_message)
    started = time.perf_counter()
    while received < count:
        connection.drain_events(timeout=30)
    elapsed = time.perf_counter() - started
    connection.close()
    return count / elapsed


def purge(vhost: str, queue: str) -> None:
    """Empty a queue."""
    connection = connect(vhost)
    connection.channel().queue_purge(queue)
    connection.close()


def serve(vhost: str, queue: str) -> None:
    """Echo server: reply to requests on their reply_to queue, wait for the confirms, then ack the requests.

    It consumes ``queue`` (quorum, persistent requests) and ``queue.bare`` (classic, exclusive,
    transient). Requests already received are answered together, their replies'
    confirms awaited once, and then acked: nothing is acked before its reply is safe.
    """
    connection = connect(vhost)
    channel = connection.channel()
    declare_quorum(channel, queue)
    # Exclusive: a transient classic queue that RabbitMQ 4.3 still allows (clients publish to it by name).
    channel.queue_declare(f"{queue}.bare", durable=False, exclusive=True)
    channel.basic_qos(0, 100, False)
    replies = BatchConfirmer(connection, connection.channel())
    pending: list[amqp.Message] = []
    channel.basic_consume(queue, callback=pending.append)
    channel.basic_consume(f"{queue}.bare", callback=pending.append)
    print("ready", flush=True)
    while True:
        if not pending:  # requests may have arrived while the previous replies' confirms were awaited
            connection.drain_events()
        while select.select([connection.sock], [], [], 0)[0]:
            connection.drain_events()
        if not pending:
            continue
        batch = pending[:]
        pending.clear()
        for message in batch:
            props = message.properties
            reply = amqp.Message(message.body, correlation_id=props.get("correlation_id"), delivery_mode=1)
            replies.publish(reply, props["reply_to"])
        replies.wait()
        channel.basic_ack(batch[-1].delivery_tag, multiple=True)


class RpcClient:
    """Request-reply over an exclusive reply queue, the way Celery's rpc:// backend works."""

    def __init__(self, vhost: str, queue: str) -> None:
        self.connection = connect(vhost, confirm_publish=True)
        self.channel = self.connection.channel()
        self.queue = queue
        self.reply_queue, _, _ = self.channel.queue_declare("", exclusive=True, auto_delete=True)
        self.replies: dict[str, bytes] = {}
        self.channel.basic_consume(self.reply_queue, callback=self._on_reply, no_ack=True)

    def _on_reply(self, message: amqp.Message) -> None:
        self.replies[message.properties["correlation_id"]] = message.body

    def call(self, body: bytes) -> bytes:
        """Publish a persistent confirmed request and wait for its reply."""
        correlation_id = uuid.uuid4().hex
        message = amqp.Message(body, delivery_mode=2, correlation_id=correlation_id, reply_to=self.reply_queue)
        self.channel.basic_publish(message, exchange="", routing_key=self.queue)
        while correlation_id not in self.replies:
            self.connection.drain_events(timeout=30)
        return self.replies.pop(correlation_id)

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


class BareRpcClient(RpcClient):
    """The same round trip without persistence or confirms (for reference)."""

    def __init__(self, vhost: str, queue: str) -> None:
        self.connection = connect(vhost, confirm_publish=False)
        self.channel = self.connection.channel()
        self.queue = queue
        self.reply_queue, _, _ = self.channel.queue_declare("", exclusive=True, auto_delete=True)
        self.replies = {}
        self.channel.basic_consume(self.reply_queue, callback=self._on_reply, no_ack=True)

    def call(self, body: bytes) -> bytes:
        """Publish a transient request without waiting for a confirm."""
        correlation_id = uuid.uuid4().hex
        message = amqp.Message(body, delivery_mode=1, correlation_id=correlation_id, reply_to=self.reply_queue)
        self.channel.basic_publish(message, exchange="", routing_key=self.queue)
        while correlation_id not in self.replies:
            self.connection.drain_events(timeout=30)
        return self.replies.pop(correlation_id)


def round_trips(client: RpcClient, count: int, warmup: int = 50) -> list[float]:
    """Seconds per sequential request-reply call."""
    for _ in range(warmup):
        client.call(BODY)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        client.call(BODY)
        samples.append(time.perf_counter() - started)
    return samples


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
