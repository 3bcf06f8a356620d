"""A pytest plugin for services built on the contracts: a private vhost per test and real worker processes.

Enable it with ``pytest_plugins = ["celery_tasks.testing"]``. Every test that uses
``task_settings`` gets its own RabbitMQ virtual host, created and deleted through the
management API, so tests never see each other's queues.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import TestWorkController, start_worker
from celery.worker import state as worker_state

from broker_admin import ManagementAPIError, ManagementClient
from celery_tasks.settings import TaskSettings, load_settings
from celery_tasks.topology import queue_counts


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
                consumers = management.consumer_count(vhost, queue)
            except ManagementAPIError:
                consumers = 0
            if not consumers:
                missing.append(queue)
        if not missing:
            return
        time.sleep(0.3)
    raise TimeoutError(f"no consumer on {missing} after {timeout} s")


class ServiceProcess:
    """A service started as its own process with its console entry point, logging to a file."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], log_path: Path) -> None:
        self.argv = list(argv)
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        """Process id of the service's main process."""
        return self.process.pid

    def log_text(self) -> str:
        """Everything the process has written so far."""
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def signal(self, signum: int) -> None:
        """Send a signal to the main process only."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signum)

    def kill_group(self) -> None:
        """SIGKILL the process and all its children (its own session)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait, then SIGKILL the whole group if it will not stop; returns the exit code."""
        if self.process.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill_group()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # leftover pool children
        self._log.close()
        return int(self.process.returncode)


#: Seconds an in-process test worker may take to start, and to stop.
IN_PROCESS_START_TIMEOUT = 60.0
IN_PROCESS_STOP_TIMEOUT = 30.0


class BoundedWorkController(TestWorkController):  # type: ignore[misc]
    """Celery's test worker, whose start-up wait has a bound instead of blocking forever."""

    def ensure_started(self) -> None:
        """Wait until the consumer is ready; raise when it is not within IN_PROCESS_START_TIMEOUT."""
        if not self._on_started.wait(IN_PROCESS_START_TIMEOUT):
            raise RuntimeError(f"in-process worker did not start within {IN_PROCESS_START_TIMEOUT:.0f} s")


@contextlib.contextmanager
def in_process_worker(app: Any, **options: Any) -> Iterator[Any]:
    """A worker on a thread of this process (Celery's ``start_worker``), started and stopped within bounds.

    Celery's helper stops the worker by setting a flag that its event loop reads only when
    the loop wakes up, which an idle loop does on its next timer (up to 10 s later, as long
    as the helper's own join timeout). Here the loop is woken at once through its hub, so
    the worker stops in well under a second; and the flag is always cleared afterwards, so
    a worker that failed to stop can never stop the next test's worker before it starts.
    """
    options.setdefault("pool", "solo")
    options.setdefault("perform_ping_check", False)
    options.setdefault("loglevel", "WARNING")
    options.setdefault("shutdown_timeout", IN_PROCESS_STOP_TIMEOUT)
    try:
        with start_worker(app, WorkController=BoundedWorkController, **options) as worker:
            try:
                yield worker
            finally:
                worker_state.should_terminate = 0
                hub = getattr(worker, "hub", None)
                if hub is not None:
                    hub.call_soon(lambda: None)  # wakes the event loop, which then sees the flag
    finally:
        worker_state.should_terminate = None
        worker_state.should_stop = None


@pytest.fixture(scope="session")
def base_settings() -> TaskSettings:
    """Settings from the environment, as every service reads them."""
    return load_settings()


@pytest.fixture(scope="session")
def management(base_settings: TaskSettings) -> ManagementClient:
    """A management API client; fails the run clearly when RabbitMQ's management plugin is not up."""
    client = ManagementClient.from_settings(base_settings)
    try:
        client.overview()
    except ManagementAPIError as exc:
        pytest.fail(f"RabbitMQ with its management plugin is needed (run `make broker`): {exc}")
    return client


@pytest.fixture
def vhost(management: ManagementClient, base_settings: TaskSettings) -> Iterator[str]:
    """A fresh virtual host for one test, deleted afterwards."""
    name = f"ct-test-{uuid.uuid4().hex[:12]}"
    management.create_vhost(name)
    user, _ = base_settings.broker_credentials()
    management.set_permissions(name, user)
    yield name
    management.delete_vhost(name)


@pytest.fixture
def task_settings(base_settings: TaskSettings, vhost: str) -> TaskSettings:
    """Settings pointing at the test's own vhost."""
    return base_settings.with_vhost(vhost)


@pytest.fixture
def start_service(
    tmp_path: Path, task_settings: TaskSettings, management: ManagementClient, vhost: str
) -> Iterator[Callable[..., ServiceProcess]]:
    """Start a console entry point against the test's vhost and wait until its queues have consumers."""
    started: list[ServiceProcess] = []

    def start(
        argv: Sequence[str],
        queues: Sequence[str] = (),
        *,
        env: dict[str, str] | None = None,
        settings: TaskSettings | None = None,
        timeout: float = 60.0,
    ) -> ServiceProcess:
        environment = {**settings_env(settings or task_settings), **(env or {})}
        log_path = tmp_path / f"{Path(argv[0]).name}-{len(started)}.log"
        service = ServiceProcess(argv, environment, log_path)
        started.append(service)
        try:
            wait_for_consumers(management, vhost, queues, timeout, service.process)
        except (RuntimeError, TimeoutError) as exc:
            raise AssertionError(f"{exc}\n--- log of {argv[0]} ---\n{service.log_text()[-4000:]}") from None
        return service

    yield start
    for service in started:
        service.stop()


def peek_headers(management: ManagementClient, vhost: str, queue: str, count: int = 100) -> list[dict[str, Any]]:
    """The headers of up to ``count`` messages of a queue, left in place."""
    return [message["properties"].get("headers", {}) for message in management.peek(vhost, queue, count)]


def entry_point(name: str) -> str:
    """Path of a console entry point installed beside the running interpreter."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"console entry point {name!r} is not installed (run `make bootstrap`)")
    return found


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
        counts = queue_counts(connection.default_channel, queue)
    if counts is None:
        raise AssertionError(f"queue {queue} does not exist")
    return counts.messages
