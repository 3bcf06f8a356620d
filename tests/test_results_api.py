"""A stateless HTTP API on a shared result store (issue 16): two real `producer serve` processes, one restarted,
answering for each other's tasks; progress, cancellation and bad ids over HTTP."""

import time
import uuid

import pytest
from api_server import ApiServers, free_port
from celery_tasks.tasks import diagnostics
from celery_tasks_devtools.testing import entry_point, queue_depth

from celery_tasks import create_app

pytest_plugins = ["results_stores"]  # store_url (Redis, PostgreSQL) and shared_settings

QUEUES = ["diagnostics.echo", "diagnostics.sleep", "diagnostics.crash"]


@pytest.fixture
def serve(tmp_path, task_settings):
    """Start `producer serve` processes sharing one keys file; each call returns (client, process, port)."""
    servers = ApiServers(tmp_path, task_settings, {})
    key = servers.keys.create(admin=True)

    def start(settings, port=None):
        port = port or free_port()
        client, process = servers.start(settings=settings, key=key, port=port)
        return client, process, port

    try:
        yield start
    finally:
        servers.stop()


def poll(client, task_id, until, timeout=60.0):
    deadline = time.monotonic() + timeout
    body = None
    while time.monotonic() < deadline:
        response = client.get(f"/tasks/{task_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        if until(body):
            return body
        time.sleep(0.1)
    raise AssertionError(f"task {task_id}: condition not met after {timeout} s; last answer {body}")


def test_two_api_processes_answer_for_each_other_and_after_a_restart(serve, start_service, shared_settings):
    first, first_process, first_port = serve(shared_settings)
    second, _, _ = serve(shared_settings)
    start_service([entry_point("consumer-diagnostics"), "--concurrency=2"], QUEUES, settings=shared_settings)
    submitted = first.post("/tasks/diagnostics.sleep", json={"seconds": 6.0})
    assert submitted.status_code == 202, submitted.text
    task_id = submitted.json()["task_id"]
    running = poll(second, task_id, lambda body: body["progress"] is not None or body["ready"])
    assert running["state"] == "PROGRESS" and running["progress_type"] == "SleepProgress"
    assert 0 < running["progress"]["slept"] < 6 and running["progress"]["seconds"] == 6.0
    assert running["name"] == "diagnostics.sleep" and running["submitted_at"]
    done = poll(second, task_id, lambda body: body["ready"])
    assert done["state"] == "SUCCESS" and done["result_type"] == "SleepResult" and done["result"]["slept"] >= 6
    failed_id = second.post("/tasks/diagnostics.crash", json={"message": "boom over http"}).json()["task_id"]
    failed = poll(first, failed_id, lambda body: body["ready"])
    assert failed["error"] == {"type": "RequestedFailure", "message": "boom over http"}
    # Restart the first API process: it remembers nothing itself, the store does.
    first_process.stop()
    restarted, _, _ = serve(shared_settings, port=first_port)
    assert restarted.get(f"/tasks/{task_id}").json() == done
    assert restarted.get(f"/tasks/{failed_id}").json()["state"] == "FAILURE"


def test_cancel_over_http_and_bad_ids(serve, start_service, shared_settings):
    client, _, _ = serve(shared_settings)
    queued = client.post("/tasks/diagnostics.echo", json={"text": "never runs"}).json()
    assert queued["consumers"] == 0 and queued["warning"]
    assert client.get(f"/tasks/{queued['task_id']}").json()["state"] == "PENDING"
    cancelled = client.delete(f"/tasks/{queued['task_id']}")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json() == {
        "task_id": queued["task_id"],
        "state": "REVOKED",
        "previous_state": "PENDING",
        "lasting": True,
    }
    kept = client.post("/tasks/diagnostics.echo", json={"text": "runs", "number": 2}).json()["task_id"]
    worker = start_service([entry_point("consumer-diagnostics"), "--concurrency=1"], QUEUES, settings=shared_settings)
    assert poll(client, kept, lambda body: body["ready"])["result"]["number"] == 2
    revoked = client.get(f"/tasks/{queued['task_id']}").json()
    assert revoked["state"] == "REVOKED" and revoked["ready"] and revoked["error"]["type"] == "TaskRevokedError"
    finished = client.delete(f"/tasks/{kept}")
    assert finished.status_code == 409 and "already finished" in finished.json()["detail"]
    unknown = str(uuid.uuid4())
    for method in ("GET", "DELETE"):
        missing = client.request(method, f"/tasks/{unknown}")
        assert missing.status_code == 404 and "unknown task id" in missing.json()["detail"]
        malformed = client.request(method, "/tasks/not-a-task-id")
        assert malformed.status_code == 422 and "malformed task id" in malformed.json()["detail"]
    assert worker.process.poll() is None
    checker = create_app([diagnostics.Echo], shared_settings)
    assert queue_depth(checker, "diagnostics.echo") == 0  # the cancelled message was discarded, not left behind
    checker.close()


def test_a_store_that_is_down_gets_503_naming_it_without_its_password(serve, task_settings):
    url = f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0"
    settings = task_settings.model_copy(update={"result_backend": url, "connect_timeout": 1.0, "publish_retries": 0})
    client, _, _ = serve(settings)
    answer = client.post("/tasks/diagnostics.echo", json={"text": "x"})
    assert answer.status_code == 503, answer.text
    detail = answer.json()["detail"]
    assert "redis://:***@127.0.0.1" in detail and "s3cret-pw" not in detail and "nothing was sent" in detail
    status = client.get(f"/tasks/{uuid.uuid4()}")
    assert status.status_code == 503 and "s3cret-pw" not in status.text


def test_rpc_keeps_todays_behaviour(serve, start_service, task_settings):
    first, _, _ = serve(task_settings)
    second, _, _ = serve(task_settings)
    start_service([entry_point("consumer-diagnostics"), "--concurrency=1"], QUEUES)
    task_id = first.post("/tasks/diagnostics.echo", json={"text": "rpc"}).json()["task_id"]
    assert poll(first, task_id, lambda body: body["ready"])["result"]["text"] == "rpc"
    other = second.get(f"/tasks/{task_id}")
    assert other.status_code == 404 and "rpc://" in other.json()["detail"]


def test_bulk_sent_tasks_are_known_to_every_api_process_while_queued(serve, start_service, shared_settings):
    client, _, _ = serve(shared_settings)
    sender = create_app([diagnostics.Echo], shared_settings)
    try:
        handles = sender.tasks[diagnostics.Echo.name].delay_many(
            [{"text": f"bulk {n}", "number": n} for n in range(40)]
        )
        # No worker yet: every task is queued, and the API knows each one (the submitted records, written in a batch).
        assert queue_depth(sender, "diagnostics.echo") == 40
        for handle in handles:
            answer = client.get(f"/tasks/{handle.id}")
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert (body["state"], body["name"], body["ready"]) == ("PENDING", "diagnostics.echo", False)
            assert body["submitted_at"]
        start_service([entry_point("consumer-diagnostics"), "--concurrency=1"], QUEUES, settings=shared_settings)
        done = poll(client, handles[-1].id, lambda body: body["ready"])
        assert (done["state"], done["result_type"], done["result"]["text"]) == ("SUCCESS", "EchoResult", "bulk 39")
        assert [handle.get(timeout=30).number for handle in handles] == list(range(40))
    finally:
        sender.close()
