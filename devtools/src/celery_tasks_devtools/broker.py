"""Helpers for tests against a real RabbitMQ: settings for child processes, consumers, parked messages, depths."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Collection, Sequence
from typing import Any

from amqp.exceptions import AMQPError
from celery_tasks.runtime.config import broker_tls_options
from celery_tasks.settings import TaskSettings
from celery_tasks.topology import queue_counts
from kombu.connection import Connection
from kombu.exceptions import OperationalError

from broker_admin import ManagementAPIError, ManagementClient


def settings_env(settings: TaskSettings) -> dict[str, str]:
    """Environment variables that reproduce ``settings`` in a child process."""
    env: dict[str, str] = {}
    for field, value in settings.model_dump().items():
        if value is not None:
            env[f"CELERY_TASKS_{field.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def amqp_consumer_counts(settings: TaskSettings, queues: Sequence[str]) -> dict[str, int]:
    """Consumers of each queue right now, from a passive declare (0 when the queue does not exist yet).

    The broker answers a passive declare with the live count; the management API's count comes
    from statistics refreshed every 5 s (``collect_statistics_interval``), so waiting on it costs
    up to 5 s per started service.
    """
    counts: dict[str, int] = {}
    with Connection(settings.broker_url, ssl=broker_tls_options(settings) or False, connect_timeout=5) as connection:
        for queue in queues:
            channel = connection.channel()  # a refused passive declare closes its channel
            try:
                found = queue_counts(channel, queue)
            finally:
                with contextlib.suppress(Exception):
                    channel.close()
            counts[queue] = found.consumers if found is not None else 0
    return counts


def wait_for_consumers(
    management: ManagementClient,
    vhost: str,
    queues: Sequence[str],
    timeout: float = 60.0,
    process: subprocess.Popen[bytes] | None = None,
    settings: TaskSettings | None = None,
) -> None:
    """Block until every queue has at least one consumer, or fail with what is missing.

    With ``settings`` (pointing at ``vhost``) the counts are read over AMQP, live; without, from the
    management API, whose statistics lag up to 5 s behind.
    """
    deadline = time.monotonic() + timeout
    missing = list(queues)
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"worker exited with {process.returncode} before consuming {missing}")
        counts = consumer_counts(management, vhost, queues, settings)
        missing = [queue for queue in queues if not counts.get(queue)]
        if not missing:
            return
        time.sleep(0.1 if settings is not None else 0.3)
    raise TimeoutError(f"no consumer on {missing} after {timeout} s")


def consumer_counts(
    management: ManagementClient, vhost: str, queues: Sequence[str], settings: TaskSettings | None
) -> dict[str, int]:
    """Consumers per queue, over AMQP when ``settings`` are given, else from the management API."""
    if settings is not None:
        try:
            return amqp_consumer_counts(settings, queues)
        except (OSError, OperationalError, AMQPError):  # the broker is restarting: ask again
            return {}
    counts: dict[str, int] = {}
    for queue in queues:
        try:
            counts[queue] = management.consumer_count(vhost, queue)
        except ManagementAPIError:
            counts[queue] = 0
    return counts


def peek_headers(management: ManagementClient, vhost: str, queue: str, count: int = 100) -> list[dict[str, Any]]:
    """The headers of up to ``count`` messages of a queue, left in place."""
    return [message["properties"].get("headers", {}) for message in management.peek(vhost, queue, count)]


def wait_for_parked(
    management: ManagementClient,
    vhost: str,
    queue: str,
    count: int,
    timeout: float = 30.0,
    ids: Collection[str] = (),
) -> list[dict[str, Any]]:
    """Headers of the messages in a queue once it holds at least ``count`` of them, ``ids`` among them."""
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    wanted = set(ids)
    while time.monotonic() < deadline:
        try:
            found = peek_headers(management, vhost, queue, count=max(count, len(wanted), 100))
        except ManagementAPIError:
            found = []
        if len(found) >= count and wanted <= {headers.get("id") for headers in found}:
            return found
        time.sleep(0.2)
    seen = sorted(f"{headers.get('id')} ({headers.get('x-error-type') or 'no error type'})" for headers in found)
    missing = sorted(wanted - {headers.get("id") for headers in found})
    raise AssertionError(
        f"{queue} holds {len(found)} messages after {timeout} s, expected {count}"
        + (f" including {missing}" if missing else "")
        + f"; it holds: {seen}"
    )


def queue_depth(app: Any, queue: str) -> int:
    """Messages ready in a queue, read over AMQP (no statistics delay)."""
    with app.connection_for_write() as connection:
        counts = queue_counts(connection.default_channel, queue)
    if counts is None:
        raise AssertionError(f"queue {queue} does not exist")
    return counts.messages
