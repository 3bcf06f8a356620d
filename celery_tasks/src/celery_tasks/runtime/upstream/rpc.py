"""The rpc:// result backend without its per-send queue declaration and its idle yields.

Celery's rpc:// backend declares the caller's reply queue before *every* task it sends
(a broker round trip each, about 40 % of a send), because that queue is auto-deleted
when its consumer goes away and might have to be recreated. Here the reply queue is
not auto-deleted: it lives while the process uses it and expires after
``result_expires`` seconds of disuse (``x-expires``), so a reconnecting consumer never
finds it gone. It is therefore declared once per producer connection (again after a
reconnect, and at least every ``REDECLARE_AFTER`` seconds so it cannot expire under a
producer that only sends). Results, acks, confirms and persistence are untouched.

In a solo-pool worker the task runs on the consumer's own thread, and waiting for each
result's publisher confirm before the next task would idle the worker for a broker
round trip per task. There (``DeferredAcks``) results are published on a confirm
channel of the consumer's connection without waiting, and each task's late ack is sent
when its result's confirm arrives: a message is still acked only after its task ran and
its result is safely with the broker; a refused result requeues the task.

Waiting for a result also skips the ``sleep(0)`` Celery calls after every message,
which on a busy machine hands the CPU away in the middle of a round trip; it is kept
when ``time.sleep`` is monkey-patched (gevent, eventlet), where it lets others run.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import amqp
from amqp import spec
from celery import bootsteps, states
from celery.backends.asynchronous import _waiting_on
from celery.backends.rpc import ResultConsumer, RPCBackend
from celery.concurrency.solo import TaskPool as SoloPool
from celery.exceptions import TimeoutError as CeleryTimeoutError
from kombu.common import maybe_declare
from kombu.entity import Queue
from kombu.serialization import dumps

from celery_tasks.runtime.confirms import ConfirmTracker
from celery_tasks.runtime.upstream.publish import publish_with_retry

logger = logging.getLogger(__name__)

#: Seconds after which the reply queue is declared again on the same connection.
REDECLARE_AFTER = 60.0
#: The reply queue outlives its consumer by at least this much (x-expires, seconds).
MIN_REPLY_QUEUE_EXPIRES = 300


def _cooperative_sleep(seconds: float) -> None:
    """``time.sleep`` only when a green-thread library replaced it (then it yields to others)."""
    if not inspect.isbuiltin(time.sleep):
        time.sleep(seconds)


class ContractResultConsumer(ResultConsumer):  # type: ignore[misc]
    """Celery's rpc result consumer, without yielding the CPU after each message."""

    def _wait_for_pending(
        self, result: Any, timeout: float | None = None, on_interval: Any = None, on_message: Any = None, **kwargs: Any
    ) -> Iterator[None]:
        self.on_wait_for_pending(result, timeout=timeout, **kwargs)
        previous: Any = self.on_message  # type: ignore[has-type]
        self.on_message = on_message
        try:
            for _ in self.drain_events_until(result.on_ready, timeout=timeout, on_interval=on_interval):
                yield
                _cooperative_sleep(0)
        except TimeoutError:
            raise CeleryTimeoutError("The operation timed out.") from None
        finally:
            self.on_message = previous

    def on_state_change(self, meta: dict[str, Any], message: Any) -> None:
        """Hand a result to whoever waits for it, or buffer it until they ask."""
        if self.on_message:
            self.on_message(meta)
        if meta["status"] in states.READY_STATES:
            task_id = meta["task_id"]
            results = _waiting_on(self._pending_results, task_id)
            if not results:
                self._pending_messages.put(task_id, meta)
            for result in results:
                result._maybe_set_cache(meta)
                bucket = self.buckets.pop(result, None)
                if bucket is not None:
                    bucket.append(result)
            self.backend._out_of_band.pop(task_id, None)
        _cooperative_sleep(0)


class ContractRPCBackend(RPCBackend):  # type: ignore[misc]
    """rpc:// with the reply queue declared once per connection instead of once per task."""

    ResultConsumer = ContractResultConsumer

    @property
    def binding(self) -> Queue:
        """The reply queue, named after this thread's app id."""
        expires = max(float(self.expires or 0), MIN_REPLY_QUEUE_EXPIRES)
        return Queue(self.oid, self.exchange, self.oid, durable=True, auto_delete=False, expires=expires)

    def store_result(
        self, task_id: str, result: Any, state: str, traceback: Any = None, request: Any = None, **kwargs: Any
    ) -> Any:
        """Send a task's state to its caller's reply queue and wait for the broker's confirm.

        Celery's own version goes through ``Producer.publish``; this one serializes the
        state once and publishes it on the pooled producer's confirm channel, with the
        same retry policy: the same message for a fraction of the work.
        """
        routing_key, correlation_id = self.destination_for(task_id, request)
        if not routing_key:
            return result
        meta = self._to_result(task_id, state, result, traceback, request)
        content_type, content_encoding, body = dumps(meta, serializer=self.serializer)
        properties = {"correlation_id": correlation_id, "delivery_mode": self.delivery_mode}
        deferred: DeferredAcks | None = getattr(self.app, "deferred_acks", None)
        if deferred is not None and deferred.on_consumer_thread():
            message = amqp.Message(
                body, content_type=content_type, content_encoding=content_encoding, application_headers={}, **properties
            )
            deferred.publish(task_id, message, routing_key)
            return result
        policy = self.retry_policy
        with self.app.amqp.producer_pool.acquire(block=True) as producer:
            message = producer.channel.prepare_message(body, None, content_type, content_encoding, {}, properties)

            def publish() -> None:
                producer.channel.basic_publish(message, exchange=self.exchange.name or "", routing_key=routing_key)

            # the backend's own policy (Celery's: 20 retries), so a result outlives a broker restart
            publish_with_retry(producer.connection, publish, {"max_retries": None, **policy}, producer)
        return result

    def on_task_call(self, producer: Any, task_id: str) -> None:
        """Make sure the reply queue exists before a task is sent (a round trip only when not known)."""
        connection = producer.connection
        declared = getattr(connection, "declared_entities", None)
        if declared is None:
            super().on_task_call(producer, task_id)
            return
        marker = ("celery_tasks.reply_queue", self.oid, int(time.monotonic() // REDECLARE_AFTER))
        if marker in declared:
            return
        maybe_declare(self.binding(producer.channel), retry=True)
        declared.add(marker)


class DeferredAcks:
    """Results published on the consumer's connection without waiting; each task's ack waits for its confirm.

    Used by a solo-pool worker only, on the consumer's thread: the event loop that reads
    task messages also reads the confirms, and runs the acks they release.
    """

    def __init__(self, connection: Any, confirm_timeout: float) -> None:
        self.connection = connection
        self.confirm_timeout = confirm_timeout
        self.thread = threading.get_ident()
        self.channel = connection.channel()
        self.channel.confirm_select()
        self.tracker = ConfirmTracker()
        self.tag_of: dict[str, int] = {}
        self.waiting: dict[int, list[tuple[Callable[[], None], Callable[[], None]]]] = {}
        self.channel.events["basic_ack"].add(self._on_ack)
        self.channel.events["basic_nack"].add(self._on_nack)

    def on_consumer_thread(self) -> bool:
        """Whether the caller runs on the consumer's thread (where the confirms are read)."""
        return threading.get_ident() == self.thread

    def publish(self, task_id: str, message: amqp.Message, routing_key: str) -> None:
        """Publish a result without waiting; the task's ack will wait for its confirm.

        ``send_method`` rather than ``basic_publish``: the latter first reads pending
        frames of the connection, which here would deliver the next task message in the
        middle of this one's result.
        """
        self.channel.send_method(spec.Basic.Publish, "Bssbb", (0, "", routing_key, False, False), message)
        self.tracker.published += 1
        self.tag_of[task_id] = self.tracker.published

    def defer(self, task_id: str, ack: Callable[[], None], requeue: Callable[[], None]) -> bool:
        """Run ``ack`` once the task's result is confirmed (``requeue`` if refused); False when nothing waits."""
        tag = self.tag_of.pop(task_id, None)
        if tag is None:
            return False
        if tag in self.tracker.nacked:
            self.tracker.nacked.discard(tag)
            requeue()
            return True
        if self.tracker.is_settled(tag):
            return False
        self.waiting.setdefault(tag, []).append((ack, requeue))
        return True

    def _release(self, tags: list[int], refused: bool) -> None:
        for tag in tags:
            for ack, requeue in self.waiting.pop(tag, ()):
                if refused:
                    logger.error("the broker refused a task's result; the task is requeued to run again")
                    requeue()
                else:
                    ack()

    def _on_ack(self, tag: int, multiple: bool) -> None:
        self.tracker.on_ack(tag, multiple)
        self._release(sorted(t for t in self.waiting if t <= tag) if multiple else [tag], refused=False)

    def _on_nack(self, tag: int, multiple: bool) -> None:
        self.tracker.on_nack(tag, multiple)
        tags = sorted(t for t in self.waiting if t <= tag) if multiple else [tag]
        self.tracker.nacked.difference_update(tags)
        self._release(tags, refused=True)

    def flush(self) -> None:
        """Read confirms until every waiting ack is sent (or the confirm timeout passes)."""
        deadline = time.monotonic() + self.confirm_timeout
        while self.waiting and time.monotonic() < deadline:
            try:
                self.connection.drain_events(timeout=max(deadline - time.monotonic(), 0.01))
            except TimeoutError:
                continue
            except Exception:  # a lost connection: the broker redelivers the unacked messages
                logger.warning("%d task acks not sent before the connection closed", len(self.waiting))
                break
        self.waiting.clear()
        self.tag_of.clear()


class DeferredAcksStep(bootsteps.StartStopStep):  # type: ignore[misc]
    """In a solo-pool worker, publish results without a confirm wait per task (see DeferredAcks)."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, consumer: Any) -> None:
        """Open the result channel on the consumer's connection."""
        app = consumer.app
        app.deferred_acks = None
        if not isinstance(consumer.pool, SoloPool) or not isinstance(app.backend, ContractRPCBackend):
            return
        settings = getattr(app, "settings", None)
        app.deferred_acks = DeferredAcks(consumer.connection, float(getattr(settings, "confirm_timeout", 10.0)))

    def stop(self, consumer: Any) -> None:
        """Send the acks still waiting for confirms, then forget the channel."""
        deferred: DeferredAcks | None = getattr(consumer.app, "deferred_acks", None)
        consumer.app.deferred_acks = None
        if deferred is not None:
            deferred.flush()

    shutdown = stop
