"""Helpers for tests against a real RabbitMQ: settings for child processes, consumers, parked messages, depths."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from typing import Any

from celery_tasks.errors import ManagementAPIError
from celery_tasks.management import ManagementClient
from celery_tasks.settings import TaskSettings


def settings_env(settings: TaskSettings) -> dict[str, str]:
    """Environment variables that reproduce ``settings`` in a child process."""
    env: dict[str, str] = {}
    for field, value in settings.model_dump().items():
        if value is not None:
            env[f"CELERY_TASKS_{field.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def wait_for_consumers(
    management: ManagementClient,
    vhost: str,
    queues: Sequence[str],
    timeout: float = 60.0,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Block until every queue has at least one consumer, or fail with what is missing."""
    deadline = time.monotonic() + timeout
    missing = list(queues)
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"worker exited with {process.returncode} before consuming {missing}")
        missing = []
        for queue in queues:
            try:
                consumers = management.queue(vhost, queue).get("consumers", 0)
            except ManagementAPIError:
                consumers = 0
            if not consumers:
                missing.append(queue)
        if not missing:
            return
        time.sleep(0.3)
    raise TimeoutError(f"no consumer on {missing} after {timeout} s")


def peek_headers(management: ManagementClient, vhost: str, queue: str, count: int = 100) -> list[dict[str, Any]]:
    """The headers of up to ``count`` messages of a queue, left in place."""
    return [message["properties"].get("headers", {}) for message in management.peek(vhost, queue, count)]


def wait_for_parked(
    management: ManagementClient, vhost: str, queue: str, count: int, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Headers of the messages in a queue once it holds at least ``count`` of them."""
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        try:
            found = peek_headers(management, vhost, queue, count=max(count, 100))
        except ManagementAPIError:
            found = []
        if len(found) >= count:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{queue} holds {len(found)} messages after {timeout} s, expected {count}")


def queue_depth(app: Any, queue: str) -> int:
    """Messages ready in a queue, read over AMQP (no statistics delay)."""
    with app.connection_for_write() as connection:
        _, messages, _ = connection.default_channel.queue_declare(queue=queue, passive=True)
    return int(messages)
