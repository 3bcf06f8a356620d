"""Worker consumer: messages that can never run are parked with a reason instead of dropped.

Celery acks an undecodable message and rejects unknown or disallowed ones without a
word of why. Here each is copied to the dead-letter queue of the queue it came from,
with the reason in its headers, then acked; a waiting caller gets a clear failure.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import bootsteps
from celery.utils.collections import AttributeDict
from celery.worker.consumer import Consumer, delayed_delivery
from celery.worker.consumer.delayed_delivery import DelayedDelivery
from celery.worker.consumer.tasks import Tasks
from kombu.message import Message
from kombu.utils.functional import retry_over_time
from kombu.utils.url import maybe_sanitize_url

from celery_tasks import topology
from celery_tasks.errors import MessageRejected, UnknownContract
from celery_tasks.runtime import metrics
from celery_tasks.runtime.parking import park_or_reject

logger = logging.getLogger(__name__)


#: The bootstep that replaces Celery's DelayedDelivery (checked by name in test_upstream_conformance).
REPLACEMENT_STEP = "celery_tasks.runtime.upstream.consumer:DelayedDeliveryAfterTopology"


class DeclareTopology(bootsteps.StartStopStep):  # type: ignore[misc]
    """Declare every served contract's queues and dead-letter pairs when the consumer (re)connects."""

    requires = ("celery.worker.consumer.connection:Connection",)

    def start(self, consumer: Any) -> None:
        """Declare on the consumer's own connection before consuming starts."""
        app = consumer.app
        channel = consumer.connection.default_channel
        for name in getattr(app, "contracts", {}):
            topology.declare(channel, name, app.settings.delivery_limit)


class DelayedDeliveryAfterTopology(DelayedDelivery):  # type: ignore[misc]
    """Celery's native delayed delivery, set up once every contract's exchange exists, on the connected node.

    It binds every queue the app knows, also those a ``-Q`` worker does not consume, so on a
    fresh vhost it must come after DeclareTopology.

    Celery's step sets delayed delivery up on *every* URL of a failover list, retrying an
    unreachable one three times (1 + 3 + 5 s), and consumes nothing meanwhile: a worker whose
    node died paused about 18 s after it had already reconnected to a live node (60 s and more
    on a loaded machine). The URLs of a failover list are nodes of one cluster, which share
    exchanges, queues and bindings, so this step sets it up on the node the consumer has just
    connected to; after a fail-over to another node it runs again there.
    """

    name = DelayedDelivery.name
    requires = (Tasks, DeclareTopology)

    def start(self, c: Any) -> None:
        """Declare the delayed-delivery topology and bind the app's queues on the consumer's node."""
        self._validate_configuration(c.app)
        url = c.connection.as_uri(include_password=True)
        try:
            retry_over_time(
                self._setup_delayed_delivery,
                args=(c, url),
                catch=delayed_delivery.RETRIED_EXCEPTIONS,
                errback=self._on_retry,
                interval_start=delayed_delivery.RETRY_INTERVAL,
                max_retries=delayed_delivery.MAX_RETRIES,
            )
        except Exception as exc:
            logger.critical(
                "delayed delivery is not set up on %s: %s; countdown and ETA tasks cannot be delayed there",
                maybe_sanitize_url(url),
                exc,
            )


class ContractConsumer(Consumer):  # type: ignore[misc]
    """Celery's consumer, parking unknown, undecodable and disallowed messages with a reason."""

    class Blueprint(Consumer.Blueprint):  # type: ignore[misc]
        """Celery's consumer steps, with delayed delivery after the topology is declared."""

        default_steps = tuple(
            "celery_tasks.runtime.upstream.consumer:DelayedDeliveryAfterTopology"
            if step.endswith(":DelayedDelivery")
            else step
            for step in Consumer.Blueprint.default_steps
        )

    def connection_for_write(self, url: str | None = None, heartbeat: float | None = None) -> Any:
        """The worker's task-event connection, publishing without confirms.

        Celery uses this connection only for task events: transient monitoring messages
        (task-received, -started, -succeeded). Waiting for a confirm of each event message
        cost a broker round trip on the worker's loop; tasks, results and parked messages
        use other connections and stay confirmed.
        """
        options = {**(self.app.conf.broker_transport_options or {}), "confirm_publish": False}
        return self.ensure_connected(
            self.app.connection_for_write(url=url, heartbeat=heartbeat, transport_options=options)
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = getattr(self.app, "settings", None)
        if settings is not None and settings.metrics_port is not None:
            # Created before the pool forks, so that prefork children share the metrics setup.
            metrics.enable_for_worker(self.app, settings.metrics_port, settings.metrics_address)

    def _source_queue(self, message: Message) -> str:
        """The contract queue a message came from (its routing key, else this worker's first queue)."""
        contracts = getattr(self.app, "contracts", {})
        key = message.delivery_info.get("routing_key")
        if key in contracts:
            return str(key)
        exchange = message.delivery_info.get("exchange")
        if exchange in contracts:
            return str(exchange)
        return str(self.app.conf.task_default_queue)

    def _park(self, message: Message, reason: str, error_type: str) -> None:
        queue = self._source_queue(message)
        contract = getattr(self.app, "contracts", {}).get(queue)
        park_or_reject(
            self.app,
            message,
            queue=queue,
            reason=reason,
            error_type=error_type,
            worker_version=getattr(contract, "version", None),
        )

    def _fail_caller(self, message: Message, exc: Exception) -> None:
        """Send the failure to a caller waiting on the task's result, if the message says who."""
        task_id = (message.headers or {}).get("id")
        if not task_id:
            return
        request = {
            "correlation_id": message.properties.get("correlation_id"),
            "reply_to": message.properties.get("reply_to"),
            "chord": None,
            "errbacks": None,
        }
        try:
            self.app.backend.mark_as_failure(task_id, exc, request=AttributeDict(request))
        except Exception:
            logger.exception("could not report the failure of task %s to its caller", task_id)

    def on_unknown_task(self, body: Any, message: Message, exc: Exception) -> None:
        """A task name no contract on this queue has: park it and tell the caller."""
        name = (message.headers or {}).get("task", "?")
        queue = self._source_queue(message)
        reason = f"unknown task name {name!r} on queue {queue!r}: this worker runs {sorted(self.app.contracts)}"
        logger.error("%s", reason)
        self._park(message, reason, "NotRegistered")
        self._fail_caller(message, UnknownContract(reason))

    def on_unknown_message(self, body: Any, message: Message) -> None:
        """A message that is not a Celery task at all: park it."""
        self._park(message, "not a Celery task message (no task header)", "UnknownMessage")

    def on_invalid_task(self, body: Any, message: Message, exc: Exception) -> None:
        """A disallowed content type (pickle) or malformed task: park it, never run it."""
        reason = f"invalid task message ({message.content_type}): {exc}"
        self._park(message, reason, type(exc).__name__)
        self._fail_caller(message, MessageRejected(reason))

    def on_decode_error(self, message: Message, exc: Exception) -> None:
        """A body that cannot be decoded: park it (Celery would ack and forget it)."""
        reason = f"cannot decode body ({message.content_type}, {message.content_encoding}): {exc}"
        logger.critical("%s", reason)
        self._park(message, reason, type(exc).__name__)
        self._fail_caller(message, MessageRejected(reason))
