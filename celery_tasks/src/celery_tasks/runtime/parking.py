"""Park a message that can never run: copy it to `<queue>.dlq` with its reason, confirmed, before it is acked."""

from __future__ import annotations

import datetime as dt
import logging
import socket
from collections.abc import Mapping
from typing import Any

from celery import Celery
from kombu.message import Message

from celery_tasks import headers, topology
from celery_tasks.runtime import metrics, tracing
from celery_tasks.runtime.upstream.publish import publish_retry_policy

logger = logging.getLogger(__name__)

MAX_REASON_CHARS = 4000
COPIED_PROPERTIES = ("correlation_id", "reply_to", "priority", "message_id", "expiration")


def parking_headers(
    original: Mapping[str, Any] | None, *, queue: str, reason: str, error_type: str, worker_version: int | None
) -> dict[str, Any]:
    """The original headers plus why, where and by whom the message was parked."""
    result = dict(original or {})
    result.update(
        {
            headers.REASON: reason[:MAX_REASON_CHARS],
            headers.ERROR_TYPE: error_type,
            headers.ORIGINAL_QUEUE: queue,
            headers.PARKED_BY: socket.gethostname(),
            headers.PARKED_AT: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
    )
    if worker_version is not None:
        result[headers.WORKER_VERSION] = worker_version
    return result


def park(
    app: Celery, message: Message, *, queue: str, reason: str, error_type: str, worker_version: int | None
) -> None:
    """Publish a copy of the message to the queue's dead-letter queue and wait for the broker's confirm.

    The caller acks the original only after this returns, so a crash in between leaves
    the message in its queue (redelivered later), never nowhere.
    """
    properties = {key: message.properties[key] for key in COPIED_PROPERTIES if message.properties.get(key)}
    traced = tracing.park_span(
        message.headers, queue=queue, reason=reason, error_type=error_type, worker_version=worker_version
    )
    with traced:
        with app.producer_or_acquire() as producer:
            dlq = topology.dead_letter_queue(queue, topology.broker_major_version(producer.channel))
            producer.publish(
                message.body,
                exchange=dlq.exchange,
                routing_key=dlq.routing_key,
                headers=parking_headers(
                    message.headers, queue=queue, reason=reason, error_type=error_type, worker_version=worker_version
                ),
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                delivery_mode=2,
                declare=[dlq],
                retry=True,
                retry_policy=publish_retry_policy(app),
                **properties,
            )
        logger.warning(
            "parked message from %s in %s: %s: %s",
            queue,
            dlq.name,
            error_type,
            reason[:300],
            extra={"data": {"id": (message.headers or {}).get("id"), "name": queue}},  # task id in JSON logs
        )
    metrics.record_dead_lettered(queue, error_type, via="parked")


def park_or_reject(
    app: Celery, message: Message, *, queue: str, reason: str, error_type: str, worker_version: int | None
) -> None:
    """Park and ack the message; if parking fails, reject it so the broker dead-letters it instead."""
    try:
        park(app, message, queue=queue, reason=reason, error_type=error_type, worker_version=worker_version)
    except Exception:
        logger.exception("could not park a message from %s; rejecting it to the dead-letter exchange", queue)
        message.reject(requeue=False)
        metrics.record_dead_lettered(queue, error_type, via="rejected")
        return
    message.ack()
