"""CELERY_TASKS_LOG_FORMAT=json: every line a worker writes is one JSON object with the fields operators filter on."""

import json
import sys
import time
from pathlib import Path

from celery_tasks.tasks import diagnostics
from celery_tasks_devtools.testing import entry_point, wait_for_parked

from celery_tasks import create_app

sys.path.insert(0, str(Path(__file__).parent))
from otlp_receiver import OtlpReceiver

FIELDS = ("time", "level", "service", "logger", "message")


def parse_lines(text):
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "the worker wrote nothing"
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"not a JSON line: {line[:300]}") from None
    return entries


def test_a_json_worker_runs_fails_and_parks_tasks_in_json_lines_with_task_and_trace_ids(
    start_service, task_settings, management, vhost
):
    with OtlpReceiver() as receiver:
        worker = start_service(
            [entry_point("consumer-diagnostics"), "--concurrency=1"],
            ["diagnostics.echo", "diagnostics.crash"],
            env={"CELERY_TASKS_LOG_FORMAT": "json", **receiver.env()},
        )
        app = create_app(diagnostics.CONTRACTS, task_settings)
        echo = app.tasks[diagnostics.Echo.name].delay("hello")
        assert echo.get(timeout=30).text == "hello"
        crash = app.tasks[diagnostics.Crash.name].delay(message="json failure")
        try:
            crash.get(timeout=30)
        except Exception as exc:
            assert "json failure" in str(exc)
        else:
            raise AssertionError("the crash task succeeded")
        parked = app.send_task(diagnostics.Echo.name, kwargs={"text": 1}, queue=diagnostics.Echo.name)
        wait_for_parked(management, vhost, "diagnostics.echo.dlq", 1)
        time.sleep(1)  # the last lines of the parking
        worker.stop()
        entries = parse_lines(worker.log_path.read_text(encoding="utf-8"))

    for entry in entries:
        missing = [field for field in FIELDS if field not in entry]
        assert not missing, f"{missing} missing in {entry}"
        assert entry["service"] == "diagnostics"
        assert entry["level"] in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
    loggers = {entry["logger"] for entry in entries}
    assert {"celery.worker.consumer.connection", "celery.apps.worker"} & loggers, "Celery's own lines are JSON too"

    def about(task_id):
        return [entry for entry in entries if entry.get("task_id") == task_id]

    succeeded = [e for e in about(echo.id) if "succeeded" in e["message"]]
    assert succeeded, about(echo.id)
    failed = [e for e in about(crash.id) if "raised" in e["message"] or e["level"] == "ERROR"]
    assert failed, about(crash.id)
    # Lines written while the task runs carry its contract, version and the ids of its run span.
    for entry in (succeeded[0], failed[0]):
        assert entry["contract"] in {diagnostics.Echo.name, diagnostics.Crash.name}
        assert entry["contract_version"] == 1
        assert len(entry["trace_id"]) == 32 and len(entry["span_id"]) == 16
    assert "exception" in failed[0] or "json failure" in failed[0]["message"]
    parking = [
        e for e in entries if e["logger"] == "celery_tasks.runtime.parking" and "InvalidArguments" in e["message"]
    ]
    assert parking, "the parked message is logged"
    assert len(parking[0]["trace_id"]) == 32, "the parking line carries the park span's ids"
    assert (parking[0]["task_id"], parking[0]["contract"]) == (parked.id, diagnostics.Echo.name)
