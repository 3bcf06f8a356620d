"""Broker fixtures: settings from the environment, a private vhost per test, services started against it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from celery_tasks.settings import TaskSettings, load_settings

from broker_admin import ManagementAPIError, ManagementClient
from celery_tasks_devtools.broker import settings_env, wait_for_consumers
from celery_tasks_devtools.processes import ServiceProcess, stop_together


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
            wait_for_consumers(management, vhost, queues, timeout, service.process, settings or task_settings)
        except (RuntimeError, TimeoutError) as exc:
            raise AssertionError(f"{exc}\n--- log of {argv[0]} ---\n{service.log_text()[-4000:]}") from None
        return service

    yield start
    stop_together(started, grace=30.0)
