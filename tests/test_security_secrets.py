"""Credentials never appear in logs or error messages: workers, the producer API and CLI, settings, management.

Every test uses a password that appears nowhere else, so a plain substring search of the
logs and messages is a complete check.
"""

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery_tasks.errors import BrokerUnavailable, ConfigurationError
from celery_tasks.settings import load_settings
from celery_tasks.tasks import diagnostics
from celery_tasks_devtools.testing import entry_point, settings_env, wait_for_parked

from broker_admin import ManagementAuthError, ManagementClient
from celery_tasks import create_app

sys.path.insert(0, str(Path(__file__).parent))
import faults


def secret() -> str:
    return f"pw-{uuid.uuid4().hex}-Zq"


@pytest.fixture
def broker_user(management, vhost, base_settings):
    name, password = f"ct-secrets-{uuid.uuid4().hex[:8]}", secret()
    management.create_user(name, password)
    management.set_permissions(vhost, name)
    host = base_settings.broker_url.split("@", 1)[1].split("/", 1)[0]
    yield name, password, f"amqp://{name}:{password}@{host}/{vhost}"
    management.delete_user(name)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_working_worker_logs_no_password_even_at_debug_level(
    start_service, task_settings, broker_user, management, vhost, log_format
):
    _, password, url = broker_user
    settings = task_settings.model_copy(update={"broker_url": url, "log_format": log_format})
    worker = start_service(
        [entry_point("consumer-diagnostics"), "--concurrency=1", "--loglevel=DEBUG"],
        ["diagnostics.echo", "diagnostics.crash"],
        settings=settings,
    )
    app = create_app(diagnostics.CONTRACTS, settings)
    assert app.tasks[diagnostics.Echo.name].delay("hello").get(timeout=30).text == "hello"
    with pytest.raises(Exception, match="boom"):
        app.tasks[diagnostics.Crash.name].delay(message="boom").get(timeout=30)
    app.send_task(diagnostics.Echo.name, kwargs={"text": 1}, queue=diagnostics.Echo.name)
    wait_for_parked(management, vhost, "diagnostics.echo.dlq", 1)
    log = worker.log_text()
    assert ":**@" in log, "the worker shows its broker URL, masked"
    assert password not in log
    if log_format == "json":
        entries = [json.loads(line) for line in log.splitlines() if line.strip()]  # every line is JSON
        assert any(entry["level"] == "DEBUG" for entry in entries)
        assert not any(password in json.dumps(entry) for entry in entries)


@pytest.mark.parametrize("fault", ["nothing-listening", "wrong-password"])
def test_connection_failures_name_the_broker_without_the_password(task_settings, broker_user, tmp_path, fault):
    user, password, url = broker_user
    if fault == "nothing-listening":
        port = faults.free_ports(1)[0]
        url = f"amqp://{user}:{password}@127.0.0.1:{port}/{task_settings.vhost}"
        shown = [password]
    else:
        url = url.replace(password, wrong := secret())
        shown = [password, wrong]
    settings = task_settings.model_copy(update={"broker_url": url, "publish_retries": 1, "connect_timeout": 2.0})

    # The producer API.
    app = create_app(diagnostics.CONTRACTS, settings)
    with pytest.raises(BrokerUnavailable) as caught:
        app.tasks[diagnostics.Echo.name].delay("x")
    message = str(caught.value)
    # The producer CLI.
    cli = subprocess.run(
        [entry_point("producer"), "submit", diagnostics.Echo.name, "--args", '{"text": "x"}'],
        env={**faults.os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # A worker that keeps retrying.
    worker = faults.start_worker(settings, tmp_path / "worker.log", argv=["--concurrency=1"])
    try:
        faults.wait_until(
            lambda: worker.log_text().count("Cannot connect") + worker.log_text().count("ACCESS_REFUSED") >= 2,
            60,
            "retries",
        )
        time.sleep(1)
        log = worker.log_text()
    finally:
        worker.stop(timeout=10)
    print(f"{fault}: producer: {message[:200]}\n{fault}: cli: {cli.stderr.strip()[:200]}")
    assert cli.returncode != 0
    assert f"amqp://{user}:***@" in message
    assert ("refused the login" if fault == "wrong-password" else "Connection refused") in message
    for text in (message, cli.stdout + cli.stderr, log):
        for value in shown:
            assert value not in text


def test_invalid_settings_and_management_errors_do_not_echo_secrets(monkeypatch, base_settings):
    password = secret()
    monkeypatch.setenv("CELERY_TASKS_BROKER_URL", f"http://bob:{password}@127.0.0.1:5672//")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert password not in str(caught.value) and "CELERY_TASKS_BROKER_URL" in str(caught.value)
    monkeypatch.setenv("CELERY_TASKS_BROKER_URL", f"amqp://bob:{password}@127.0.0.1:5672//")
    monkeypatch.setenv("CELERY_TASKS_PREFETCH_MULTIPLIER", "many")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert password not in str(caught.value)
    monkeypatch.delenv("CELERY_TASKS_PREFETCH_MULTIPLIER")
    settings = load_settings()
    assert password not in settings.redacted_broker_url()
    assert password not in repr(settings.redacted_broker_url())

    client = ManagementClient(base_settings.management_url, "guest", password, retries=0)
    with pytest.raises(ManagementAuthError) as caught:
        client.overview()
    assert password not in str(caught.value) and password not in repr(client)
