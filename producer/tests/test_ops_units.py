"""The pure parts of the operations commands: message checks, replay headers, journal, targets, flags."""

import json

import pytest
from celery_tasks.tasks.diagnostics import Echo, Sleep
from producer.contract_queues import ContractQueueStatus
from producer.scaling import ScalingTarget
from rich.console import Console

from broker_admin import QueueStats
from producer import dead_letters, scale_advice, status

CELERY_HEADERS = {"task": Echo.name, "id": "t-1", "x-contract-version": 1, "retries": 0}


def body(args, kwargs):
    return json.dumps([args, kwargs, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]).encode()


def test_check_message_accepts_a_valid_task_and_explains_every_refusal():
    good = body([], {"text": "hi", "number": 2})
    assert dead_letters.check_message(Echo, CELERY_HEADERS, good, "application/json") is None
    assert dead_letters.check_message(Echo, CELERY_HEADERS, body(["hi"], {}), "application/json") is None

    kind, reason = dead_letters.check_message(Echo, CELERY_HEADERS, body([], {"text": 5}), "application/json")
    assert kind == "InvalidArguments" and "text: Input should be a valid string" in reason
    kind, reason = dead_letters.check_message(Echo, CELERY_HEADERS, good, "application/x-python-serialize")
    assert kind == "UnsupportedContentType"
    kind, _ = dead_letters.check_message(Echo, CELERY_HEADERS, b"{not json", "application/json")
    assert kind == "UndecodableMessage"
    kind, reason = dead_letters.check_message(
        Echo, {**CELERY_HEADERS, "task": "diagnostics.ecco"}, good, "application/json"
    )
    assert kind == "UnknownContract" and "'diagnostics.ecco'" in reason
    kind, reason = dead_letters.check_message(
        Echo, {**CELERY_HEADERS, "x-contract-version": 3}, good, "application/json"
    )
    assert kind == "UnsupportedVersion" and "accepts 1..1" in reason


def test_replayed_headers_strip_parking_and_broker_headers_and_count_the_replay():
    parked = {
        **CELERY_HEADERS,
        "x-reason": "boom",
        "x-error-type": "RequestedFailure",
        "x-original-queue": Echo.name,
        "x-parked-by": "host",
        "x-parked-at": "2024-01-01T00:00:00+00:00",
        "x-worker-contract-version": 1,
        "x-death": [{"count": 1}],
        "x-delivery-count": 2,
        "x-first-death-queue": "diagnostics.echo.replay",
        "x-replay-count": 1,
    }
    headers = dead_letters.replayed_headers(parked, "t-1:1")
    assert headers == {**CELERY_HEADERS, "x-replay-count": 2, "x-replay-source": "t-1:1"}
    refused = dead_letters.refused_headers(parked, "t-1:1", "InvalidArguments", "text is missing")
    assert refused["x-reason"] == "replay refused: text is missing"
    assert refused["x-error-type"] == "InvalidArguments"
    assert refused["x-parked-before"] == "RequestedFailure: boom"
    assert refused["x-replay-count"] == 2 and "x-death" not in refused and "x-delivery-count" not in refused
    again = dead_letters.refused_headers(refused, "t-1:2", "InvalidArguments", "still missing")
    assert again["x-parked-before"] == "RequestedFailure: boom"  # the first reason is kept, never nested
    assert dead_letters.message_key("t-1", again) == "t-1:3"


def test_task_id_falls_back_to_message_id_then_body_hash():
    assert dead_letters.task_id_of({"id": "a"}, {"message_id": "b"}, b"x") == "a"
    assert dead_letters.task_id_of({}, {"message_id": "b"}, b"x") == "b"
    assert dead_letters.task_id_of({}, {}, b"x").startswith("sha256:")


def test_journal_is_durable_ignores_a_torn_line_and_compacts(tmp_path):
    journal = dead_letters.ReplayJournal.for_contract(tmp_path, "a/vhost", Echo.name)
    assert journal.path == tmp_path / "a%2Fvhost" / "diagnostics.echo.jsonl"
    journal.record("t-1:0", "staged", destination="to-queue")
    journal.record("t-1:0", "acked")
    journal.record("t-2:0", "staged")
    with journal.path.open("a") as handle:
        handle.write('{"key": "t-3:0", "pha')  # a crash in the middle of a write
    reread = dead_letters.ReplayJournal(journal.path)
    assert reread.phase("t-1:0") == "acked" and reread.phase("t-2:0") == "staged" and reread.phase("t-3:0") is None
    reread.record("t-4:0", "staged")  # lands on its own line after the torn one
    assert dead_letters.ReplayJournal(journal.path).phase("t-4:0") == "staged"
    reread.record("t-1:0", "forwarded")
    reread.compact(keep_days=1)
    assert dead_letters.ReplayJournal(journal.path).phases.keys() == {"t-1:0", "t-2:0", "t-4:0"}
    reread.compact(keep_days=-1)  # finished moves older than the limit go, unfinished ones stay
    assert dead_letters.ReplayJournal(journal.path).phases.keys() == {"t-2:0", "t-4:0"}


def test_resolve_contract_accepts_the_dlq_name():
    assert dead_letters.resolve_contract("diagnostics.sleep.dlq") is Sleep


def test_parse_target():
    target = scale_advice.parse_target("consumer-x=a.b,c.d:10:2:6")
    assert target == ScalingTarget(
        "consumer-x", ("a.b", "c.d"), messages_per_replica=10, min_replicas=2, max_replicas=6
    )
    assert scale_advice.parse_target("c=q.x:5").max_replicas == 10
    for bad in ("c=q:0", "c=q:5:4:2", "no-equals", "c=q"):
        with pytest.raises(scale_advice.TargetSpecError):
            scale_advice.parse_target(bad)


def queue(**values):
    return QueueStats(name=Echo.name, vhost="v", **values)


def contract_status(q):
    return ContractQueueStatus(Echo.name, 1, "someone", q, None)


def test_flags():
    assert status.flag_for(contract_status(queue(ready=5, consumers=1, publish_rate=3.0)), None) is None
    assert status.flag_for(contract_status(queue(ready=5, publish_rate=3.0)), None) == status.GROWING
    assert status.flag_for(contract_status(queue(ready=6)), previous_ready=5) == status.GROWING
    assert status.flag_for(contract_status(queue(ready=5)), previous_ready=5) == status.WAITING
    assert status.flag_for(contract_status(queue()), None) is None
    assert status.flag_for(contract_status(None), None) is None


def test_status_table_renders_flags_and_undeclared_queues():
    rows = [
        status.ContractRow(Echo.name, 1, "x", True, 4, 1, 0, 2.5, 0.0, 0.0, 3, status.GROWING),
        status.ContractRow(Sleep.name, 1, "x", False, 0, 0, 0, 0.0, 0.0, 0.0, 0, None),
    ]
    console = Console(width=160, record=True)
    console.print(status.render(rows, "v"))
    text = console.export_text()
    assert "GROWING, NO CONSUMER" in text and "not declared" in text and "diagnostics.echo v1" in text
