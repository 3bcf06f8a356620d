"""The Celery, kombu and py-amqp internals of the publishing paths (bulk.py), each behind one small function."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import amqp


def publish_raw(channel: amqp.Channel, message: amqp.Message, exchange: str, routing_key: str) -> None:
    """py-amqp ``Channel._basic_publish``: publish without reading pending confirms first (bulk keeps its window)."""
    amqp.Channel._basic_publish(channel, message, exchange=exchange, routing_key=routing_key)


def prepare_reply_queue(app: Any, producer: Any, task_id: str) -> None:
    """Celery ``backend.on_task_call``: rpc:// declares the thread's reply queue before the first send."""
    app.backend.on_task_call(producer, task_id)


def inside_running_task(app: Any) -> bool:
    """Celery ``app.current_worker_task``: a task sent from a running task gets it as parent (Celery's send)."""
    return app.current_worker_task is not None


def thread_oid(app: Any) -> str:
    """Celery ``app.thread_oid``: the per-thread id that names the rpc:// reply queue."""
    return str(app.thread_oid)


def per_task_cache(task: Any, key: str) -> dict[str, Any]:
    """A cache in the task instance's ``__dict__`` (Celery tasks are one instance per app, shared by threads)."""
    cache: dict[str, Any] = task.__dict__.setdefault(key, {})
    return cache


class NoRevive:
    """kombu ``connection.ensure`` revives its object after reconnecting; each attempt opens its own channel."""

    def revive(self, channel: Any) -> None:
        """Nothing to revive."""


def publish_retry_policy(app: Any) -> dict[str, Any]:
    """The one publish retry policy: Celery's ``task_publish_retry_policy`` as config.py sets it from the settings."""
    policy: dict[str, Any] = dict(app.conf.task_publish_retry_policy or {})
    return policy


def publish_with_retry(connection: Any, publish: Callable[[], None], policy: Mapping[str, Any], revive: Any) -> None:
    """Run ``publish``, reconnecting and running it again on a connection error (kombu ``connection.ensure``).

    ``revive`` is what kombu revives with the new channel (a producer), or a NoRevive when each attempt
    opens its own channel.
    """
    connection.ensure(
        revive,
        publish,
        max_retries=policy.get("max_retries", 3),
        interval_start=policy.get("interval_start", 0),
        interval_step=policy.get("interval_step", 1),
        interval_max=policy.get("interval_max", 1),
    )()


def publish_confirmed(
    channel: Any, message: amqp.Message, exchange: str, routing_key: str, confirm_timeout: float | None
) -> None:
    """py-amqp ``basic_publish`` on a confirm channel, waiting at most ``confirm_timeout`` for the confirm."""
    channel.basic_publish(message, exchange=exchange, routing_key=routing_key, confirm_timeout=confirm_timeout)
