"""Prometheus metrics: a prefork worker's task metrics (children come and go), retries, and the producer's exporter."""

import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest
import requests
from celery_tasks.errors import InvalidArguments, UnknownContract
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks.tasks.diagnostics import Crash, Echo
from celery_tasks_devtools.ports import free_port
from celery_tasks_devtools.testing import ServiceProcess, entry_point, settings_env, wait_for_parked
from prometheus_client.parser import text_string_to_metric_families

from celery_tasks import Contract, ContractArgs, ContractResult, create_app

DIAGNOSTIC_QUEUES = ["diagnostics.echo", "diagnostics.sleep", "diagnostics.crash"]


def scrape(port):
    """Samples of a /metrics page keyed by (name, sorted label items)."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape_once_counted(port, name, expected, timeout=30.0):
    """Samples once the counters named ``name`` add up to ``expected`` (or after ``timeout`` s, to show what was there).

    A caller gets a task's result before the worker counts the task: Celery sends the result,
    then the success and postrun signals (or, for a failure, the main process parks the message),
    so a scrape right after ``get()`` can miss the last task.
    """
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(port)
        if sum(v for (sample, _), v in samples.items() if sample == name) >= expected or time.monotonic() > deadline:
            return samples
        time.sleep(0.2)


def test_prefork_worker_metrics_add_up_across_short_lived_children(start_service, task_settings, management, vhost):
    port = free_port()
    start_service(
        # Every task runs in a fresh child that exits afterwards: counts must survive their processes.
        [entry_point("consumer-diagnostics"), "--concurrency=2", "--max-tasks-per-child=1"],
        DIAGNOSTIC_QUEUES,
        env={"CELERY_TASKS_METRICS_PORT": str(port), "CELERY_TASKS_METRICS_ADDRESS": "127.0.0.1"},
    )
    app = create_app(ALL_CONTRACTS, task_settings)
    echoes = [app.tasks[Echo.name].delay(f"n{n}") for n in range(6)]
    assert [r.get(timeout=60).text for r in echoes] == [f"n{n}" for n in range(6)]
    for result in [app.tasks[Crash.name].delay(message="planned") for _ in range(3)]:
        with pytest.raises(Exception, match="planned"):
            result.get(timeout=60)
    for result in [app.send_task(Echo.name, kwargs={"text": 7}, queue=Echo.name) for _ in range(2)]:
        with pytest.raises(InvalidArguments):
            result.get(timeout=60)
    with pytest.raises(UnknownContract):
        app.send_task("diagnostics.ecco", kwargs={"text": "x"}, queue=Echo.name).get(timeout=60)
    wait_for_parked(management, vhost, "diagnostics.echo.dlq", 3)

    # A caller hears of a failure (from the child) just before the main process parks the message
    # and counts it: wait until the 6 parked messages are counted, then every number must be exact.
    samples = scrape_once_counted(port, "celery_tasks_dead_lettered_total", 6)
    assert value(samples, "celery_tasks_tasks_received_total", contract=Echo.name, version=str(Echo.version)) == 8
    assert value(samples, "celery_tasks_tasks_received_total", contract=Crash.name, version=str(Crash.version)) == 3
    assert (
        value(samples, "celery_tasks_tasks_total", contract=Echo.name, version=str(Echo.version), outcome="succeeded")
        == 6
    )
    assert (
        value(samples, "celery_tasks_tasks_total", contract=Echo.name, version=str(Echo.version), outcome="failed") == 2
    )
    assert (
        value(samples, "celery_tasks_tasks_total", contract=Crash.name, version=str(Crash.version), outcome="failed")
        == 3
    )
    assert (
        value(samples, "celery_tasks_tasks_total", contract=Crash.name, version=str(Crash.version), outcome="succeeded")
        == 0
    )
    dead = "celery_tasks_dead_lettered_total"
    assert (
        value(
            samples, dead, contract=Crash.name, version=str(Crash.version), error_type="RequestedFailure", via="parked"
        )
        == 3
    )
    assert (
        value(samples, dead, contract=Echo.name, version=str(Echo.version), error_type="InvalidArguments", via="parked")
        == 2
    )
    assert (
        value(samples, dead, contract=Echo.name, version=str(Echo.version), error_type="NotRegistered", via="parked")
        == 1
    )
    assert value(samples, "celery_tasks_task_runtime_seconds_count", contract=Echo.name, version=str(Echo.version)) == 8
    assert (
        value(samples, "celery_tasks_task_runtime_seconds_count", contract=Crash.name, version=str(Crash.version)) == 3
    )
    assert (
        value(
            samples,
            "celery_tasks_task_runtime_seconds_bucket",
            contract=Echo.name,
            version=str(Echo.version),
            le="+Inf",
        )
        == 8
    )
    assert value(samples, "celery_tasks_task_runtime_seconds_sum", contract=Echo.name, version=str(Echo.version)) > 0
    info = [key for key in samples if key[0] == "celery_tasks_contract_info"]
    assert {dict(labels)["contract"] for _, labels in info} >= {Echo.name, Crash.name, "diagnostics.sleep"}
    assert all(dict(labels)["version"] == "1" for _, labels in info)


class FlakyArgs(ContractArgs):
    """How many runs it takes."""

    attempts: int


class FlakyResult(ContractResult):
    """On which run it worked."""

    runs: int


class Flaky(Contract[FlakyArgs, FlakyResult]):
    """Fails with a retry until its last attempt (a test-only contract)."""

    name = "testing.flaky"
    Args = FlakyArgs
    Result = FlakyResult


FLAKY_WORKER = textwrap.dedent(
    """
    from celery_tasks import Contract, ContractArgs, ContractResult
    from celery_tasks.runtime.worker import run_worker

    class FlakyArgs(ContractArgs):
        attempts: int

    class FlakyResult(ContractResult):
        runs: int

    class Flaky(Contract[FlakyArgs, FlakyResult]):
        name = "testing.flaky"
        Args = FlakyArgs
        Result = FlakyResult

        def run(self, args):
            if self.request.retries + 1 < args.attempts:
                raise self.retry(countdown=0, max_retries=10)
            return FlakyResult(runs=self.request.retries + 1)

    run_worker([Flaky], service="flaky")
    """
)


def test_retries_are_counted(tmp_path, task_settings, management, vhost, start_service):
    script = tmp_path / "flaky_worker.py"
    script.write_text(FLAKY_WORKER)
    port = free_port()
    start_service(
        [sys.executable, str(script), "--concurrency=2"],
        [Flaky.name],
        env={"CELERY_TASKS_METRICS_PORT": str(port), "CELERY_TASKS_METRICS_ADDRESS": "127.0.0.1"},
    )
    app = create_app([Flaky], task_settings)
    results = [app.tasks[Flaky.name].delay(attempts=3) for _ in range(2)]
    assert [r.get(timeout=60).runs for r in results] == [3, 3]
    # The result goes out before the last run is counted (task_success, then task_postrun, which
    # observes the runtime): wait for the 6 runtimes, then every number must be exact.
    samples = scrape_once_counted(port, "celery_tasks_task_runtime_seconds_count", 6)
    assert value(samples, "celery_tasks_task_retries_total", contract=Flaky.name, version=str(Flaky.version)) == 4
    assert (
        value(samples, "celery_tasks_tasks_total", contract=Flaky.name, version=str(Flaky.version), outcome="succeeded")
        == 2
    )
    assert (
        value(samples, "celery_tasks_task_runtime_seconds_count", contract=Flaky.name, version=str(Flaky.version)) == 6
    )
    assert value(samples, "celery_tasks_tasks_received_total", contract=Flaky.name, version=str(Flaky.version)) == 6


@pytest.fixture
def exporter(task_settings, tmp_path):
    started = []

    def start(**env):
        port = free_port()
        environment = {**settings_env(task_settings), **env}
        argv = [entry_point("producer"), "metrics", "--port", str(port)]
        service = ServiceProcess([*argv, "--address", "127.0.0.1"], environment, tmp_path / f"exporter-{port}.log")
        started.append(service)
        deadline = time.monotonic() + 30
        while True:
            try:
                scrape(port)
                return port
            except requests.ConnectionError:
                if service.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(service.log_text()) from None
                time.sleep(0.2)

    yield start
    for service in started:
        assert service.stop() == 0


def test_producer_exports_queue_depth_consumers_and_dead_letters(
    start_service, exporter, task_settings, management, vhost
):
    start_service([entry_point("consumer-diagnostics"), "--concurrency=1"], DIAGNOSTIC_QUEUES)
    app = create_app(ALL_CONTRACTS, task_settings)
    for result in [app.tasks[Crash.name].delay() for _ in range(2)]:
        with pytest.raises(Exception, match="requested failure"):
            result.get(timeout=60)
    app.declare_topology_once("alert.send_alert")
    for _ in range(7):  # nobody consumes alerts in this test
        app.send_task("alert.send_alert", kwargs={}, queue="alert.send_alert")
    port = exporter()

    def settled(samples):
        return (
            value(samples, "celery_tasks_queue_messages_ready", contract="alert.send_alert") == 7
            and value(samples, "celery_tasks_dead_letter_messages", contract=Crash.name) == 2
            and value(samples, "celery_tasks_queue_messages_acknowledged_total", contract=Crash.name) == 2
            and value(samples, "celery_tasks_queue_consumers", contract=Echo.name) == 1
        )

    deadline = time.monotonic() + 60  # the broker refreshes its statistics every 5 s
    while not settled(samples := scrape(port)) and time.monotonic() < deadline:
        time.sleep(1)
    assert settled(samples), samples
    assert value(samples, "celery_tasks_management_up") == 1
    assert value(samples, "celery_tasks_queue_consumers", contract=Echo.name) == 1
    assert value(samples, "celery_tasks_queue_consumers", contract="alert.send_alert") == 0
    assert value(samples, "celery_tasks_queue_declared", contract="crawler.fetch_page") == 0
    assert value(samples, "celery_tasks_queue_messages_published_total", contract=Crash.name) == 2
    assert value(samples, "celery_tasks_desired_replicas", consumer="consumer-alert") == 1  # ceil(7 / 20)
    assert value(samples, "celery_tasks_desired_replicas", consumer="consumer-etl") == 1


def test_producer_exporter_reports_an_unreachable_management_api(exporter):
    port = exporter(CELERY_TASKS_MANAGEMENT_URL=f"http://127.0.0.1:{free_port()}")
    samples = scrape(port)
    assert value(samples, "celery_tasks_management_up") == 0
    assert not [key for key in samples if key[0].startswith("celery_tasks_queue")]


def test_worker_refuses_a_metrics_port_in_use(task_settings):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **settings_env(task_settings),
            "CELERY_TASKS_METRICS_PORT": str(port),
            "CELERY_TASKS_METRICS_ADDRESS": "127.0.0.1",
        }
        result = subprocess.run(
            [entry_point("consumer-diagnostics")],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode != 0
    assert f"CELERY_TASKS_METRICS_PORT: cannot serve metrics on 127.0.0.1:{port}" in result.stdout + result.stderr
