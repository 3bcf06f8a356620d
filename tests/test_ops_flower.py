"""Flower (with basic auth) shows the tasks a real consumer ran, from the task events workers send."""

import sys
import time
from pathlib import Path

import pytest
import requests
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks.tasks.diagnostics import Crash, Echo
from celery_tasks_devtools.ports import free_port
from celery_tasks_devtools.testing import ServiceProcess, entry_point, settings_env

from celery_tasks import create_app

AUTH = ("ops", "flower-test-password")


@pytest.fixture
def flower(task_settings, tmp_path):
    port = free_port()
    celery = str(Path(sys.executable).parent / "celery")
    argv = [
        celery,
        f"--broker={task_settings.broker_url}",
        "flower",
        "--address=127.0.0.1",
        f"--port={port}",
        f"--basic-auth={AUTH[0]}:{AUTH[1]}",
    ]
    service = ServiceProcess(argv, settings_env(task_settings), tmp_path / "flower.log")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{url}/healthcheck", timeout=2)
            break
        except requests.ConnectionError:
            if service.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(service.log_text()) from None
            time.sleep(0.3)
    yield url
    log = service.log_text()
    service.stop()
    assert "Visit me at" in log and AUTH[1] not in log


def wait_for_task(url, task_id, state, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(f"{url}/api/task/info/{task_id}", auth=AUTH, timeout=5)
        if response.status_code == 200 and response.json().get("state") == state:
            return response.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"{task_id} not {state} in Flower: {response.status_code} {response.text[:500]}")
        time.sleep(0.5)


def test_flower_shows_tasks_run_by_a_consumer(flower, start_service, task_settings):
    start_service([entry_point("consumer-diagnostics"), "--concurrency=1"], ["diagnostics.echo", "diagnostics.crash"])
    app = create_app(ALL_CONTRACTS, task_settings)
    echo = app.tasks[Echo.name].delay("seen by flower", number=5)
    assert echo.get(timeout=60).text == "seen by flower"
    crash = app.tasks[Crash.name].delay(message="flower sees this failure")
    with pytest.raises(Exception, match="flower sees this failure"):
        crash.get(timeout=60)

    succeeded = wait_for_task(flower, echo.id, "SUCCESS")
    assert succeeded["name"] == Echo.name
    assert succeeded["worker"].startswith("diagnostics@")
    assert "seen by flower" in succeeded["result"] and succeeded["runtime"] > 0
    failed = wait_for_task(flower, crash.id, "FAILURE")
    assert "RequestedFailure" in failed["exception"] and "flower sees this failure" in failed["exception"]

    listed = requests.get(f"{flower}/api/tasks", params={"taskname": Echo.name}, auth=AUTH, timeout=5).json()
    assert listed[echo.id]["state"] == "SUCCESS" and crash.id not in listed
    assert requests.get(f"{flower}/api/tasks", timeout=5).status_code == 401
    assert requests.get(f"{flower}/api/tasks", auth=(AUTH[0], "wrong"), timeout=5).status_code == 401
