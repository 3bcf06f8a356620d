"""Send many tasks of one contract at once: every call validated first, then published persistent on one
channel in confirm mode, waiting for the broker's confirms in batches instead of after each message.

``delay()`` waits for one publisher confirm per task: a durable quorum queue confirms
a message only once a majority has written it to disk, so each wait costs a disk
flush and a round trip. ``Contract.delay_many(calls)`` keeps every guarantee (each
message is persistent and confirmed before the call returns, and nothing is sent when
any call is invalid) but keeps up to ``window`` messages in flight, so one flush
confirms many. After a lost connection the messages not yet confirmed are published
again on a new one (at least once, like Celery's own publish retries).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import amqp
from amqp.exceptions import MessageNacked

from celery_tasks.errors import ContractError, PublishRefused
from celery_tasks.runtime import stores
from celery_tasks.runtime.confirms import ConfirmTracker
from celery_tasks.runtime.results import handle_of
from celery_tasks.runtime.upstream.messages import TaskMessageFactory
from celery_tasks.runtime.upstream.publish import (
    NoRevive,
    inside_running_task,
    per_task_cache,
    prepare_reply_queue,
    publish_confirmed,
    publish_raw,
    publish_retry_policy,
    publish_with_retry,
    thread_oid,
)

if TYPE_CHECKING:
    from celery_tasks.contract import Contract
    from celery_tasks.runtime.results import TypedAsyncResult

#: Messages in flight (published, not yet confirmed) before the sender waits for confirms.
DEFAULT_WINDOW = 1000
SUPPORTED_OPTIONS = frozenset({"headers", "priority", "expires", "time_limit", "soft_time_limit"})
MAX_INDEXES_SHOWN = 10


@dataclass
class Outgoing:
    """One prepared message and its position in the caller's list."""

    index: int
    task_id: str
    message: amqp.Message


def validate_calls(task: Contract[Any, Any], calls: Iterable[Any]) -> list[bytes]:
    """Every call's JSON payload, or the error of the first bad call, naming it (nothing is sent then)."""
    payloads = []
    for index, call in enumerate(calls):
        try:
            payloads.append(task.payload_json(task.parse_call(call)))
        except ContractError as exc:
            raise type(exc)(f"call #{index}: {exc}") from None
    return payloads


def submit_many(
    task: Contract[Any, Any], calls: Iterable[Any], *, window: int = DEFAULT_WINDOW, **options: Any
) -> list[TypedAsyncResult[Any]]:
    """Validate every call, publish them all with batched confirms, and return one result handle per call.

    ``options`` may hold ``headers``, ``priority``, ``expires`` (seconds), ``time_limit``
    and ``soft_time_limit``; use ``apply_async`` for anything else (countdown, links).
    Raises InvalidArguments (or PayloadTooLarge) before sending anything, and
    PublishRefused when the broker refuses some messages: its ``refused`` attribute
    lists their positions, and ``accepted`` the handles of the others.
    """
    unsupported = sorted(set(options) - SUPPORTED_OPTIONS)
    if unsupported:
        raise TypeError(f"delay_many does not support {', '.join(unsupported)}: use apply_async for those")
    if window < 1:
        raise ValueError("window must be at least 1")
    payloads = validate_calls(task, calls)
    factory = TaskMessageFactory(task, **options)
    if not payloads:
        return []
    task.app.declare_topology_once(task.name)
    return BulkSender(factory, window=window).send(payloads)


class BulkSender:
    """Publishes the messages of one contract on a confirm channel, keeping up to ``window`` unconfirmed."""

    def __init__(self, factory: TaskMessageFactory, *, window: int) -> None:
        self.factory = factory
        self.task = factory.task
        self.app = factory.app
        self.window = window
        queue = self.app.amqp.queues[self.task.queue]
        self.exchange = queue.exchange.name
        self.routing_key = queue.routing_key or self.task.name
        settings = getattr(self.app, "settings", None)
        self.confirm_timeout = float(getattr(settings, "confirm_timeout", 10.0))
        self.retry_policy = publish_retry_policy(self.app)

    def send(self, payloads: list[bytes]) -> list[TypedAsyncResult[Any]]:
        """Publish every payload; return the result handles in the callers' order."""
        refused: list[int] = []
        outgoing = []
        for index, payload in enumerate(payloads):
            task_id, message = self.factory.build(payload)
            outgoing.append(Outgoing(index, task_id, message))
        with self.app.producer_or_acquire() as producer:
            connection = producer.connection
            if not stores.is_shared(str(self.app.conf.result_backend)):
                # rpc:// declares its reply queue here. Redis would subscribe to one task id (and refuses ""):
                # a shared store needs nothing, each get() subscribes and reads the stored result first.
                prepare_reply_queue(self.app, producer, "")
            pending = list(outgoing)

            def publish_pending() -> None:
                self._publish(connection, pending, refused)

            publish_with_retry(connection, publish_pending, self.retry_policy, NoRevive())
        refused_set = set(refused)
        for item in outgoing:
            if item.index not in refused_set:
                self.factory.send_after_publish(item.task_id)
        results = [handle_of(self.task, item.task_id) for item in outgoing]
        if refused:
            raise self._refused_error(sorted(refused_set), results)
        return results

    def _refused_error(self, refused: list[int], results: list[TypedAsyncResult[Any]]) -> PublishRefused:
        shown = ", ".join(str(i) for i in refused[:MAX_INDEXES_SHOWN])
        more = "" if len(refused) <= MAX_INDEXES_SHOWN else f" and {len(refused) - MAX_INDEXES_SHOWN} more"
        error = PublishRefused(
            f"the broker refused {len(refused)} of {len(results)} {self.task.name} tasks "
            f"(calls #{shown}{more}): the queue may be full (x-overflow reject-publish); the others were accepted"
        )
        refused_set = set(refused)
        error.refused = tuple(refused)
        error.accepted = tuple(result for index, result in enumerate(results) if index not in refused_set)
        return error

    def _publish(self, connection: Any, outgoing: list[Outgoing], refused: list[int]) -> None:
        """Publish on a fresh confirm channel and wait for every confirm.

        On a connection error ``outgoing`` is cut down, in place, to the messages the
        broker has not answered, so that ``connection.ensure`` retries only those.
        """
        channel = connection.channel()
        tracker = ConfirmTracker()
        tags: list[tuple[int, Outgoing]] = []
        try:
            channel.confirm_select()
            channel.events["basic_ack"].add(tracker.on_ack)
            channel.events["basic_nack"].add(tracker.on_nack)
            for item in outgoing:
                publish_raw(channel, item.message, self.exchange, self.routing_key)
                tracker.published += 1
                tags.append((tracker.published, item))
                if tracker.outstanding >= self.window:
                    self._wait(connection, tracker, self.window // 2)
            self._wait(connection, tracker, 0)
        except BaseException:
            unconfirmed = [item for tag, item in tags if not tracker.is_settled(tag)]
            outgoing[:] = unconfirmed + outgoing[len(tags) :]
            raise
        finally:
            self._collect_nacked(tracker, tags, refused)
            channel.events["basic_ack"].discard(tracker.on_ack)
            channel.events["basic_nack"].discard(tracker.on_nack)
            _close_quietly(channel)

    @staticmethod
    def _collect_nacked(tracker: ConfirmTracker, tags: list[tuple[int, Outgoing]], refused: list[int]) -> None:
        for tag, item in tags:
            if tag in tracker.nacked:
                refused.append(item.index)
        tracker.nacked.clear()

    def _wait(self, connection: Any, tracker: ConfirmTracker, until_outstanding: int) -> None:
        """Read confirms until at most ``until_outstanding`` messages are unconfirmed."""
        deadline = time.monotonic() + self.confirm_timeout
        while tracker.outstanding > until_outstanding:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PublishRefused(
                    f"the broker did not confirm {tracker.outstanding} {self.task.name} tasks within "
                    f"{self.confirm_timeout} s (CELERY_TASKS_CONFIRM_TIMEOUT)"
                )
            try:
                connection.drain_events(timeout=remaining)
            except TimeoutError:
                continue


def _factory_for(task: Contract[Any, Any], options: Mapping[str, Any]) -> TaskMessageFactory:
    """A message factory for these options; the one for no options is kept per calling thread."""
    if options:
        return TaskMessageFactory(task, **options)
    cache: dict[str, TaskMessageFactory] = per_task_cache(task, "_message_factories")
    key = thread_oid(task.app)
    factory = cache.get(key)
    if factory is None:
        factory = cache[key] = TaskMessageFactory(task)
    return factory


def can_send_direct(task: Contract[Any, Any], options: Mapping[str, Any], **celery_arguments: Any) -> bool:
    """Whether ``apply_async`` may publish a prepared message itself instead of going through Celery's send_task.

    Only for plain calls: no links, countdown, eta, routing or serializer options, not from
    inside a running task (whose id would become the parent), with confirms configured.
    """
    if any(value is not None for value in celery_arguments.values()) or not set(options) <= SUPPORTED_OPTIONS:
        return False
    app = task.app
    conf = app.conf
    return bool(
        not conf.task_always_eager
        and not task.ignore_result
        and (conf.broker_transport_options or {}).get("confirm_publish")
        and not inside_running_task(app)
    )


@dataclass
class Prepared:
    """One validated call turned into its message, not sent yet."""

    factory: TaskMessageFactory
    task_id: str
    message: amqp.Message


def prepare_one(task: Contract[Any, Any], payload: bytes, task_id: str | None = None, **options: Any) -> Prepared:
    """The message of one validated call whose payload (JSON, size checked) is given; no network involved."""
    factory = _factory_for(task, options)
    task_id, message = factory.build(payload, task_id)
    return Prepared(factory, task_id, message)


def send_one(task: Contract[Any, Any], prepared: Prepared) -> TypedAsyncResult[Any]:
    """Publish one prepared call, persistent, and wait for the broker's confirm (what ``delay`` does).

    The same message Celery's ``apply_async`` sends, built from a cached template and
    published on the pooled producer's confirm channel, with the same retry policy.
    """
    app = prepared.factory.app
    queue = app.amqp.queues[task.queue]
    exchange, routing_key = queue.exchange.name, queue.routing_key or task.name
    policy = publish_retry_policy(app)
    confirm_timeout = getattr(getattr(app, "settings", None), "confirm_timeout", None)
    with app.producer_or_acquire() as producer:
        prepare_reply_queue(app, producer, prepared.task_id)

        def publish() -> None:
            try:
                publish_confirmed(producer.channel, prepared.message, exchange, routing_key, confirm_timeout)
            except MessageNacked:  # refused, not lost: no reconnect and retry (which kombu would do)
                raise PublishRefused(
                    f"the broker refused the {task.name} task {prepared.task_id}: the queue may be full "
                    "(x-overflow reject-publish)"
                ) from None

        publish_with_retry(producer.connection, publish, policy, producer)
    prepared.factory.send_after_publish(prepared.task_id)
    return handle_of(task, prepared.task_id)


def _close_quietly(channel: Any) -> None:
    """Close a channel; one that cannot close is collected with its connection."""
    with contextlib.suppress(Exception):
        channel.close()
