"""Bad input drills (scenarios 6, 7, 8, 9): refused at the producer, or parked with a reason, never run, never lost.

Each drill sends its bad messages next to good ones; the ledger shows the good ones ran
once and the bad ones never ran, and the dead-letter queue holds every bad one with why.
"""

import json
import pickle
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery_tasks.errors import InvalidArguments, PayloadTooLarge, UnknownContract
from celery_tasks.settings import load_settings
from celery_tasks.tasks import diagnostics
from celery_tasks_devtools.testing import entry_point, queue_depth, wait_for_parked

from celery_tasks import create_app

sys.path.insert(0, str(Path(__file__).parent))
import faults

RECORD = diagnostics.Record.name
DLQ = f"{RECORD}.dlq"


@pytest.fixture
def ledger(tmp_path):
    return tmp_path / "ledger.sqlite"


@pytest.fixture
def diagnostics_app(task_settings):
    return create_app(diagnostics.CONTRACTS, task_settings)


@pytest.fixture
def record_worker(start_service, ledger):
    return start_service(
        [entry_point("consumer-diagnostics"), "--concurrency=2"],
        [RECORD],
        env={"DIAGNOSTICS_LEDGER_PATH": str(ledger)},
    )


def good_traffic(app, prefix, count=5):
    record = app.tasks[RECORD]
    return {f"{prefix}-{n}": record.delay(key=f"{prefix}-{n}") for n in range(count)}


def assert_good_ran_once_and_bad_never(ledger, good):
    verdict, view = faults.await_effects(ledger, good, timeout=60)
    assert verdict.ok, verdict
    assert set(view.runs) == set(good), f"only the good messages ran: {dict(view.runs)}"
    assert all(count == 1 for count in view.runs.values())
    return verdict


def test_6_schema_invalid_arguments_past_the_producer_are_parked_and_the_caller_gets_the_error(
    record_worker, diagnostics_app, management, vhost, ledger
):
    bad = diagnostics_app.send_task(RECORD, kwargs={"key": "", "seconds": "slow", "colour": "red"}, queue=RECORD)
    good = good_traffic(diagnostics_app, "s6")
    with pytest.raises(InvalidArguments) as caught:
        bad.get(timeout=30)
    message = str(caught.value)
    print(f"scenario 6: caller got {type(caught.value).__name__}: {message!r}")
    for field in ("key:", "seconds:"):
        assert field in message, f"the error names {field}"
    assert "colour" not in message, "an unknown extra field is dropped by the worker (a newer producer's field)"
    parked = wait_for_parked(management, vhost, DLQ, 1)
    assert [(h["id"], h["x-error-type"]) for h in parked] == [(bad.id, "InvalidArguments")]
    assert "seconds" in parked[0]["x-reason"]
    verdict = assert_good_ran_once_and_bad_never(ledger, good)
    print(f"scenario 6: {verdict}")


def test_7_unknown_task_name_is_parked_and_the_caller_told_quickly(
    record_worker, diagnostics_app, management, vhost, ledger
):
    began = time.monotonic()
    bad = diagnostics_app.send_task("diagnostics.recrod", kwargs={"key": "x"}, queue=RECORD)
    with pytest.raises(UnknownContract, match=r"unknown task name 'diagnostics\.recrod'") as caught:
        bad.get(timeout=30)
    took = time.monotonic() - began
    print(f"scenario 7: caller told in {took:.2f} s: {caught.value}")
    parked = wait_for_parked(management, vhost, DLQ, 1)
    assert [(h["id"], h["x-error-type"]) for h in parked] == [(bad.id, "NotRegistered")]
    assert "diagnostics.record" in parked[0]["x-reason"], "the reason lists what this worker runs"
    assert_good_ran_once_and_bad_never(ledger, good_traffic(diagnostics_app, "s7"))


class Exploit:
    """Unpickling this creates a file: proof that a pickle body was (or was not) deserialized."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def task_headers(task_id, name=RECORD):
    return {"lang": "py", "task": name, "id": task_id, "root_id": task_id, "retries": 0, "timelimit": [None, None]}


def publish_raw(app, body, *, content_type, headers, content_encoding="utf-8"):
    """Publish bytes straight to the record queue, as a buggy or hostile producer could."""
    task_id = headers.get("id") if headers else None
    with app.producer_or_acquire() as producer:
        app.backend.on_task_call(producer, task_id)  # declare our reply queue, as send_task does
        producer.publish(
            body,
            exchange=RECORD,
            routing_key=RECORD,
            content_type=content_type,
            content_encoding=content_encoding,
            headers=headers,
            delivery_mode=2,
            reply_to=app.backend.oid,
            correlation_id=task_id,
            retry=True,
        )


def test_8_malformed_json_wrong_content_type_and_pickle_are_never_run_and_are_parked(
    record_worker, diagnostics_app, management, vhost, ledger, tmp_path
):
    diagnostics_app.declare_topology_once(RECORD)
    marker = tmp_path / "unpickled"
    kwargs = {"key": "s8-bad"}
    valid_body = json.dumps([[], kwargs, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}])
    cases = {
        "malformed-json": (b'[[], {"key": "s8-bad"', "application/json"),
        "wrong-content-type": (valid_body.encode(), "application/x-yaml"),
        "text-plain": (valid_body.encode(), "text/plain"),
        "pickle": (pickle.dumps(([], {"key": Exploit(marker)}, {}), protocol=2), "application/x-python-serialize"),
    }
    ids = {}
    for case, (body, content_type) in cases.items():
        ids[case] = str(uuid.uuid4())
        publish_raw(diagnostics_app, body, content_type=content_type, headers=task_headers(ids[case]))
    not_a_task = str(uuid.uuid4())
    publish_raw(diagnostics_app, b'{"hello": "world"}', content_type="application/json", headers={"id": not_a_task})
    good = good_traffic(diagnostics_app, "s8")

    parked = wait_for_parked(management, vhost, DLQ, len(cases) + 1, timeout=60)
    reasons = {h.get("id"): (h["x-error-type"], h["x-reason"]) for h in parked}
    for case, task_id in ids.items():
        print(f"scenario 8: {case}: parked as {reasons[task_id][0]}: {reasons[task_id][1][:120]}")
    assert set(reasons) == {*ids.values(), not_a_task}, "every bad message is in the dead-letter queue"
    assert reasons[not_a_task][0] == "UnknownMessage"
    assert "application/x-python-serialize" in reasons[ids["pickle"]][1]
    assert reasons[ids["pickle"]][0] == "ContentDisallowed"
    assert not marker.exists(), "the pickle body was never deserialized"
    for case in ("malformed-json", "wrong-content-type", "pickle"):
        result = diagnostics_app.tasks[RECORD].AsyncResult(ids[case])
        with pytest.raises(Exception, match="cannot decode|invalid task message|Expecting|ContentDisallowed"):
            result.get(timeout=30)
    verdict = assert_good_ran_once_and_bad_never(ledger, good)
    assert queue_depth(diagnostics_app, RECORD) == 0, "nothing is left behind, nothing silently dropped"
    print(f"scenario 8: {verdict}; parked {len(parked)}")
    assert "s8-bad" not in faults.read_ledger(ledger).runs


def test_9_oversized_payload_is_refused_at_the_producer_with_a_clear_error(task_settings, monkeypatch):
    app = create_app(diagnostics.CONTRACTS, task_settings.model_copy(update={"max_payload_bytes": 10_000}))
    echo = app.tasks[diagnostics.Echo.name]
    app.declare_topology_once(echo.name)
    with pytest.raises(PayloadTooLarge) as caught:
        echo.delay(text="x" * 20_000)
    print(f"scenario 9: {caught.value}")
    size = len(json.dumps({"text": "x" * 20_000, "number": 0}, separators=(",", ":")))
    assert f"{size} bytes, over the limit of 10000 bytes" in str(caught.value)
    assert "CELERY_TASKS_MAX_PAYLOAD_BYTES" in str(caught.value), "the error names the setting"
    assert queue_depth(app, echo.name) == 0, "nothing was published"
    echo.delay(text="x" * 9_000)
    assert queue_depth(app, echo.name) == 1, "a payload under the limit is sent"

    monkeypatch.setenv("CELERY_TASKS_MAX_PAYLOAD_BYTES", "2048")
    configured = create_app(diagnostics.CONTRACTS, load_settings(broker_url=task_settings.broker_url))
    with pytest.raises(PayloadTooLarge, match="over the limit of 2048 bytes"):
        configured.tasks[diagnostics.Echo.name].delay(text="y" * 3000)
    assert queue_depth(app, echo.name) == 1


def test_8_parked_copies_keep_the_callers_reply_address(record_worker, diagnostics_app, management, vhost):
    bad = diagnostics_app.send_task(RECORD, kwargs={"key": 1}, queue=RECORD)
    with pytest.raises(InvalidArguments):
        bad.get(timeout=30)
    wait_for_parked(management, vhost, DLQ, 1)
    parked = management.peek(vhost, DLQ, 10)
    assert parked[0]["properties"]["correlation_id"] == bad.id
    assert parked[0]["properties"]["reply_to"] == diagnostics_app.backend.oid
