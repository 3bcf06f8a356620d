"""The fast paths on a real `consumer-diagnostics` process: the instant profile, bulk sends, and stops mid-stream.

The worker gets only the broker URL from the environment, like a container, so the
pool, prefetch and logging come from the served contract's kind of work
(`diagnostics.echo` is "instant": solo, prefetch 64, acks sent on the results' confirms).
"""

import os
import signal
import time

import pytest
from celery_tasks.tasks import diagnostics
from celery_tasks_devtools.testing import ServiceProcess, entry_point, queue_depth, wait_for_consumers

from celery_tasks import create_app

ECHO = diagnostics.Echo.name


@pytest.fixture
def echo_worker(tmp_path, task_settings, management, vhost):
    """Start `consumer-diagnostics --queues=diagnostics.echo` with nothing but the broker URL configured."""
    started = []

    def start():
        log = tmp_path / f"echo-worker-{len(started)}.log"
        # the child inherits os.environ: leave out every other CELERY_TASKS_* for its start
        saved = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith("CELERY_TASKS_")}
        try:
            service = ServiceProcess(
                [entry_point("consumer-diagnostics"), f"--queues={ECHO}"],
                {"CELERY_TASKS_BROKER_URL": task_settings.broker_url},
                log,
            )
        finally:
            os.environ.update(saved)
        started.append(service)
        wait_for_consumers(management, vhost, [ECHO], 60, service.process, task_settings)  # live count over AMQP
        return service

    yield start
    for service in started:
        service.stop()


def unacked(management, vhost):
    return management.queue(vhost, ECHO).get("messages_unacknowledged") or 0


def consumers_once_listed(management, vhost, timeout=30.0):
    """The management API's consumers of the vhost once it lists the echo queue's (its statistics lag up to 5 s)."""
    deadline = time.monotonic() + timeout
    while True:
        consumers = management.request("GET", f"consumers/{vhost}")
        if any(c["queue"]["name"] == ECHO for c in consumers) or time.monotonic() > deadline:
            return consumers
        time.sleep(0.5)


def wait_drained(app, management, vhost, timeout=30):
    deadline = time.monotonic() + timeout
    while queue_depth(app, ECHO) or unacked(management, vhost):
        assert time.monotonic() < deadline, "every task message is acked once its result is confirmed"
        time.sleep(0.5)


def test_an_echo_only_worker_runs_the_instant_profile(echo_worker, task_settings, management, vhost):
    service = echo_worker()
    app = create_app([diagnostics.Echo], task_settings)
    results = app.tasks[ECHO].delay_many([{"text": f"m{n}", "number": n} for n in range(500)])
    values = [result.get(timeout=60) for result in results]
    assert [(v.text, v.number) for v in values] == [(f"m{n}", n) for n in range(500)]
    assert app.tasks[ECHO].delay(text="single").get(timeout=30).text == "single"
    wait_drained(app, management, vhost)
    log = service.log_text()
    assert "(solo)" in log, "the instant profile's pool"
    assert "Task diagnostics.echo[" not in log, "no per-task INFO lines in the instant profile"
    consumers = consumers_once_listed(management, vhost)
    assert any(c["queue"]["name"] == ECHO and c["prefetch_count"] >= 64 for c in consumers)


@pytest.mark.parametrize("stop", ["sigterm", "sigkill"])
def test_a_worker_stopped_mid_stream_loses_no_task(stop, echo_worker, task_settings, management, vhost):
    """Acks follow the results' confirms: whatever was not acked is redelivered, nothing is lost."""
    first = echo_worker()
    app = create_app([diagnostics.Echo], task_settings)
    results = app.tasks[ECHO].delay_many([{"text": f"s{n}", "number": n} for n in range(3000)])
    assert results[200].get(timeout=60).number == 200  # the worker is in the middle of the stream
    if stop == "sigterm":
        first.signal(signal.SIGTERM)  # warm shutdown: the running task ends, waiting acks are flushed
        first.process.wait(timeout=60)
    else:
        os.killpg(first.pid, signal.SIGKILL)  # like `docker kill`: nothing more is sent
        first.process.wait(timeout=30)
    echo_worker()  # the replacement
    values = [result.get(timeout=120) for result in results]
    assert [v.number for v in values] == list(range(3000))
    wait_drained(app, management, vhost)
