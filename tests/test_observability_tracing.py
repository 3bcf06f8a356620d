"""One OpenTelemetry trace from the HTTP request to the worker: real processes export OTLP/HTTP to a local receiver."""

import socket
import sys
import time
from pathlib import Path

import httpx
import pytest
from celery_tasks.tasks import diagnostics
from celery_tasks.testing import ServiceProcess, entry_point, settings_env, wait_for_parked

from celery_tasks import create_app

sys.path.insert(0, str(Path(__file__).parent))
from otlp_receiver import OtlpReceiver

SERVER, PRODUCER, CONSUMER = 2, 4, 5  # OTLP span kinds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def receiver():
    with OtlpReceiver() as running:
        yield running


@pytest.fixture
def serve(tmp_path, task_settings):
    """Start `producer serve`; returns an HTTP client once it answers."""
    started = []

    def start(env):
        port = free_port()
        process = ServiceProcess(
            [entry_point("producer"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            {**settings_env(task_settings), **env},
            tmp_path / f"serve-{port}.log",
        )
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        started.append((process, client))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.process.poll() is None, process.log_text()
            try:
                if client.get("/contracts").status_code == 200:
                    return client
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"producer serve did not answer:\n{process.log_text()}")

    yield start
    for process, client in started:
        client.close()
        process.stop()


def submit(client, name, body, timeout=60):
    response = client.post(f"/tasks/{name}", json=body)
    assert response.status_code == 202, response.text
    task_id = response.json()["task_id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/tasks/{task_id}").json()
        if status["ready"]:
            return task_id, status
        time.sleep(0.1)
    raise AssertionError(f"{name} {task_id} not ready after {timeout} s")


def one(spans):
    assert len(spans) == 1, spans
    return spans[0]


def assert_http_publish_run(receiver, name, task_id, worker_service):
    """HTTP server span -> publish span (API) -> run span (worker): one trace, parent/child, attributes."""
    run = one(
        receiver.wait_for(lambda s: s.name == f"run/{name}" and s.attributes.get("celery_tasks.task_id") == task_id)
    )
    publish = one(receiver.wait_for(lambda s: s.span_id == run.parent_id, what=f"publish span of {name}"))
    request = one(receiver.wait_for(lambda s: s.span_id == publish.parent_id, what=f"HTTP span of {name}"))
    assert run.trace_id == publish.trace_id == request.trace_id
    assert (request.service, request.kind) == ("producer", SERVER)
    assert request.attributes.get("http.route") == f"/tasks/{name}" or f"/tasks/{name}" in request.name
    assert (publish.service, publish.kind, publish.name) == ("producer", PRODUCER, f"apply_async/{name}")
    assert (run.service, run.kind) == (worker_service, CONSUMER)
    for span in (publish, run):
        assert span.attributes["celery_tasks.contract"] == name
        assert span.attributes["celery_tasks.contract.version"] == 1
        assert span.attributes["messaging.destination.name"] == name
        assert span.attributes["celery_tasks.task_id"] == task_id
    assert run.attributes["celery_tasks.message.version"] == 1
    assert run.attributes["celery_tasks.retries"] == 0
    return request, publish, run


def test_one_trace_from_the_http_request_to_solo_and_prefork_workers(start_service, serve, receiver, management, vhost):
    env = receiver.env()
    # diagnostics.echo alone runs the solo pool; sleep and crash the prefork pool (tasks in forked children).
    start_service(
        [entry_point("consumer-diagnostics"), "-n", "solo@%h", "-Q", "diagnostics.echo"], ["diagnostics.echo"], env=env
    )
    start_service(
        [entry_point("consumer-diagnostics"), "-n", "prefork@%h", "-Q", "diagnostics.sleep,diagnostics.crash", "-c2"],
        ["diagnostics.sleep", "diagnostics.crash"],
        env=env,
    )
    client = serve(env)

    echo_id, echo = submit(client, "diagnostics.echo", {"text": "traced"})
    assert echo["state"] == "SUCCESS"
    _, _, run = assert_http_publish_run(receiver, "diagnostics.echo", echo_id, "diagnostics")
    assert run.attributes["celery_tasks.outcome"] == "succeeded"

    sleep_id, sleep = submit(client, "diagnostics.sleep", {"seconds": 0})
    assert sleep["state"] == "SUCCESS"
    _, _, run = assert_http_publish_run(receiver, "diagnostics.sleep", sleep_id, "diagnostics")
    assert run.attributes["celery_tasks.outcome"] == "succeeded"

    crash_id, crash = submit(client, "diagnostics.crash", {"message": "traced failure"})
    assert crash["state"] == "FAILURE"
    _, publish, run = assert_http_publish_run(receiver, "diagnostics.crash", crash_id, "diagnostics")
    assert run.attributes["celery_tasks.outcome"] == "failed"
    assert run.status_code == 2  # ERROR
    wait_for_parked(management, vhost, "diagnostics.crash.dlq", 1)
    # Parking happens in the prefork worker's main process: a sibling of the run span, child of the publish span.
    park = one(receiver.wait_for(lambda s: s.name == "park/diagnostics.crash", what="park span"))
    assert (park.trace_id, park.parent_id, park.service) == (publish.trace_id, publish.span_id, "diagnostics")
    assert park.attributes["celery_tasks.outcome"] == "parked"
    assert park.attributes["celery_tasks.parking.error_type"] == "RequestedFailure"
    assert "traced failure" in park.attributes["celery_tasks.parking.reason"]
    assert park.attributes["celery_tasks.task_id"] == crash_id
    assert park.attributes["celery_tasks.contract.version"] == 1


def test_clients_and_workers_without_tracing_still_work_with_traced_peers(
    start_service, serve, receiver, task_settings
):
    env = receiver.env()
    # A traced worker, sent to by a foreign client without tracing (no traceparent header): a new trace starts.
    start_service(
        [entry_point("consumer-diagnostics"), "-n", "solo@%h", "-Q", "diagnostics.echo"], ["diagnostics.echo"], env=env
    )
    app = create_app(diagnostics.CONTRACTS, task_settings)
    handle = app.send_task(diagnostics.Echo.name, kwargs={"text": "foreign"}, queue=diagnostics.Echo.name)
    assert handle.get(timeout=30)["text"] == "foreign"
    run = one(receiver.wait_for(lambda s: s.attributes.get("celery_tasks.task_id") == handle.id))
    assert run.name == "run/diagnostics.echo" and run.parent_id == ""

    # A traced API in front of a worker without tracing: the worker ignores the traceparent header.
    start_service(
        [entry_point("consumer-diagnostics"), "-n", "untraced@%h", "-Q", "diagnostics.sleep"], ["diagnostics.sleep"]
    )
    client = serve(env)
    task_id, status = submit(client, "diagnostics.sleep", {"seconds": 0})
    assert status["state"] == "SUCCESS"
    publish = one(receiver.wait_for(lambda s: s.attributes.get("celery_tasks.task_id") == task_id))
    assert publish.name == "apply_async/diagnostics.sleep"
    time.sleep(1)
    assert [s.name for s in receiver.spans if s.attributes.get("celery_tasks.task_id") == task_id] == [publish.name]
