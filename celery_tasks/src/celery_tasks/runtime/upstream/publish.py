"""The Celery, kombu and py-amqp internals of the publishing paths (bulk.py), each behind one small function."""

from __future__ import annotations

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
