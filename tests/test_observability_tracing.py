"""One OpenTelemetry trace from the HTTP request to the worker: real processes export OTLP/HTTP to a local receiver."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from api_server import ApiServers
from celery_tasks.tasks import diagnostics
from celery_tasks_devtools.testing import entry_point, settings_env, wait_for_parked
from otlp_receiver import OtlpReceiver

from celery_tasks import create_app

SERVER, PRODUCER, CONSUMER = 2, 4, 5  # OTLP span kinds


@pytest.fixture
def receiver():
    with OtlpReceiver() as running:
        yield running


@pytest.fixture
def serve(tmp_path, task_settings):
    """Start `producer serve` (with an admin key); returns an HTTP client once it answers."""
    servers = ApiServers(tmp_path, task_settings, {})
    try:
        yield lambda env: servers.start(env=env)[0]
    finally:
        servers.stop()


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


@pytest.mark.parametrize("pool", ["solo", "prefork"])
def test_one_trace_covers_every_step_of_a_pipeline_chain_and_group(start_service, receiver, task_settings, pool):
    env = receiver.env()
    worker = [entry_point("consumer-diagnostics"), "-n", f"{pool}@%h", "-Q", "diagnostics.echo", f"--pool={pool}"]
    start_service([*worker, "--concurrency=2"] if pool == "prefork" else worker, ["diagnostics.echo"], env=env)
    # A traced producer process: a chain of two and a group of two, sent by the pipeline's code in one pipeline span.
    script = Path(__file__).parent / "traced_pipeline.py"
    done = subprocess.run(
        [sys.executable, str(script)],
        env={**os.environ, **settings_env(task_settings), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sent = json.loads(done.stdout.strip().splitlines()[-1])
    trace_id = sent["trace_id"]

    root = one(receiver.wait_for(lambda s: s.span_id == sent["pipeline_span_id"], what="pipeline span"))
    assert (root.service, root.name, root.trace_id, root.parent_id) == ("producer", "pipeline", trace_id, "")

    def publish_and_run(task_id):
        run = one(receiver.wait_for(lambda s: s.name == "run/diagnostics.echo" and task_of(s) == task_id))
        publish = one(receiver.wait_for(lambda s: s.kind == PRODUCER and task_of(s) == task_id, what="publish"))
        assert (publish.name, run.parent_id, run.kind, run.service) == (
            "apply_async/diagnostics.echo",
            publish.span_id,
            CONSUMER,
            "diagnostics",
        )
        assert run.attributes["celery_tasks.outcome"] == "succeeded"
        assert run.trace_id == publish.trace_id == trace_id, f"{task_id} is not in the pipeline's trace"
        return publish, run

    # The chain: step 1 is published by the producer inside the pipeline span, step 2 by the worker inside
    # step 1's run span (Celery sends a chain's next step when the previous one succeeds).
    first_publish, first_run = publish_and_run(sent["chain"][0])
    second_publish, _ = publish_and_run(sent["chain"][1])
    assert (first_publish.service, first_publish.parent_id) == ("producer", root.span_id)
    assert (second_publish.service, second_publish.parent_id) == ("diagnostics", first_run.span_id)

    # The group: both members published by the producer inside the stage's span, a child of the pipeline span.
    stage = one(receiver.wait_for(lambda s: s.name == "pipeline/echo", what="stage span"))
    assert (stage.service, stage.trace_id, stage.parent_id) == ("producer", trace_id, root.span_id)
    assert stage.attributes["celery_tasks.pipeline.items"] == 2
    for task_id in sent["group"]:
        publish, _ = publish_and_run(task_id)
        assert (publish.service, publish.parent_id) == ("producer", stage.span_id)


def task_of(span):
    return span.attributes.get("celery_tasks.task_id")
