"""The fast paths: prepared messages, delay_many with batched confirms, the rpc backend, deferred acks, profiles."""

import json
import time

import pytest
from amqp.serialization import decode_properties_basic
from celery_tasks.errors import InvalidArguments, PayloadTooLarge, PublishRefused
from celery_tasks.runtime import pools
from celery_tasks.runtime.confirms import ConfirmTracker
from celery_tasks.runtime.upstream.messages import TaskMessageFactory
from celery_tasks.runtime.upstream.rpc import ContractRPCBackend
from celery_tasks.settings import load_settings
from celery_tasks.tasks import diagnostics
from celery_tasks_devtools.testing import in_process_worker, queue_depth

from celery_tasks import create_app

ECHO = diagnostics.Echo.name


class Echo(diagnostics.Echo):
    def run(self, args: diagnostics.EchoArgs) -> diagnostics.EchoResult:
        if args.text == "boom":
            raise ValueError("asked to fail")
        return diagnostics.EchoResult(text=args.text, number=args.number, worker="in-process")


def offline_app(**overrides):
    return create_app([diagnostics.Echo], load_settings(broker_url="amqp://guest:guest@127.0.0.1:1//", **overrides))


def reference_message(app, task_id, payload):
    """The headers and properties Celery's own send path builds for the same call."""
    task = app.tasks[ECHO]
    limits = task._get_exec_options()  # what Task.apply_async passes on to send_task
    headers, properties, body, _ = app.amqp.create_task_message(
        task_id,
        ECHO,
        (),
        payload,
        reply_to=app.thread_oid,
        create_sent_event=False,
        time_limit=limits["time_limit"],
        soft_time_limit=limits["soft_time_limit"],
    )
    headers.update(task.contract_headers())
    return headers, properties, body


# ------------------------------------------------------------------ prepared messages (no broker)


def test_prepared_message_decodes_to_the_message_celery_would_send():
    app = offline_app()
    factory = TaskMessageFactory(app.tasks[ECHO])
    payload = factory.payload_json(diagnostics.EchoArgs(text="héllo", number=7))
    task_id, message = factory.build(payload)

    properties, _ = decode_properties_basic(message._serialize_properties(), 0)
    headers, reference, body = reference_message(app, task_id, {"text": "héllo", "number": 7})
    assert properties["content_type"] == "application/json"
    assert properties["delivery_mode"] == 2, "tasks are persistent"
    assert properties["correlation_id"] == task_id
    assert properties["reply_to"] == reference["reply_to"] == app.thread_oid
    sent = properties["application_headers"]
    assert set(sent) == set(headers)
    for key in set(headers) - {"kwargsrepr", "origin"}:
        assert sent[key] == (list(headers[key]) if isinstance(headers[key], tuple) else headers[key]), key
    assert json.loads(message.body) == json.loads(json.dumps(body))


def test_prepared_message_carries_priority_expiry_and_extra_headers():
    app = offline_app()
    factory = TaskMessageFactory(app.tasks[ECHO], priority=3, expires=60, headers={"x-trace": "abc"})
    _, message = factory.build(factory.payload_json(diagnostics.EchoArgs(text="x")))
    properties, _ = decode_properties_basic(message._serialize_properties(), 0)
    assert properties["priority"] == 3
    assert properties["expiration"] == "60000"
    assert properties["application_headers"]["x-trace"] == "abc"
    assert properties["application_headers"]["expires"], "the expiry is also in Celery's header"
    assert properties["application_headers"]["x-contract"] == ECHO


def test_prepared_payload_over_the_limit_is_refused_before_any_io():
    app = offline_app(max_payload_bytes=1000)
    with pytest.raises(PayloadTooLarge, match="over the limit of 1000 bytes"):
        app.tasks[ECHO].delay_many([{"text": "ok"}, {"text": "x" * 2000}])


def test_every_call_is_validated_before_anything_is_sent():
    app = offline_app()  # a closed port: reaching the network would raise something else
    with pytest.raises(InvalidArguments, match=r"call #2: invalid arguments for diagnostics.echo"):
        app.tasks[ECHO].delay_many([{"text": "a"}, ("b", 2), {"text": ["not", "text"]}])
    with pytest.raises(InvalidArguments, match="call #0"):
        app.tasks[ECHO].delay_many([42])
    with pytest.raises(TypeError, match="countdown"):
        app.tasks[ECHO].delay_many([{"text": "a"}], countdown=5)


def test_confirm_tracker_follows_single_multiple_and_refused_confirms():
    tracker = ConfirmTracker(published=6)
    tracker.on_ack(2, False)
    assert tracker.outstanding == 6 and tracker.is_settled(2) and not tracker.is_settled(1)
    tracker.on_ack(1, False)
    assert tracker.outstanding == 4, "1 and 2 are confirmed in a row"
    tracker.on_nack(4, True)
    assert tracker.nacked == {3, 4}
    tracker.on_ack(6, True)
    assert tracker.outstanding == 0 and tracker.nacked == {3, 4}


# ------------------------------------------------------------------ work profiles (no broker)


class CpuWork(diagnostics.Sleep):
    pass


def test_a_worker_takes_the_profile_of_the_contracts_it_serves():
    contracts = [diagnostics.Echo, diagnostics.Sleep]
    defaults = load_settings()
    assert pools.kind_of_work([diagnostics.Echo]) == "instant"
    assert pools.kind_of_work(contracts) == "cpu", "one cpu contract makes the worker prefork"
    assert pools.served(contracts, ["-Q", ECHO]) == [diagnostics.Echo]
    assert pools.served(contracts, [f"--queues={ECHO},diagnostics.sleep"]) == contracts
    assert pools.work_options(contracts, defaults, [f"-Q{ECHO}"]) == ["--pool=solo", "--prefetch-multiplier=64"]
    assert pools.work_options(contracts, defaults) == []
    assert not pools.logs_each_task(contracts, ["-Q", ECHO])
    assert pools.logs_each_task(contracts, ["-Q", ECHO, "--loglevel=INFO"]), "an explicit log level wins"


def test_settings_and_command_line_options_beat_the_profile():
    echo = [diagnostics.Echo]
    assert pools.work_options(echo, load_settings(worker_pool="prefork")) == ["--prefetch-multiplier=64"]
    assert pools.work_options(echo, load_settings(prefetch_multiplier=4)) == ["--pool=solo"]
    assert pools.work_options(echo, load_settings(), ["--pool", "threads"]) == ["--prefetch-multiplier=64"]
    assert pools.work_options(echo, load_settings(), ["-P", "threads", "--prefetch-multiplier=2"]) == []


# ------------------------------------------------------------------ against RabbitMQ


@pytest.mark.broker_compat
def test_delay_many_publishes_every_call_persistent_and_confirmed(task_settings, management, vhost):
    app = create_app([diagnostics.Echo], task_settings)
    calls = [{"text": f"n{n}", "number": n} for n in range(1200)]
    results = app.tasks[ECHO].delay_many(calls, window=100)
    assert len({result.id for result in results}) == 1200
    assert queue_depth(app, ECHO) == 1200, "every confirmed message is in the queue"
    first = management.peek(vhost, ECHO, 1)[0]
    assert first["properties"]["delivery_mode"] == 2
    assert first["properties"]["headers"]["x-contract"] == ECHO
    assert first["properties"]["headers"]["task"] == ECHO
    assert json.loads(first["payload"])[1] == {"text": "n0", "number": 0}


def test_delay_many_reports_the_calls_the_broker_refuses(task_settings, management, vhost):
    app = create_app([diagnostics.Echo], task_settings)
    app.declare_topology_once(ECHO)
    policy = {"pattern": r"^diagnostics\.echo$", "definition": {"max-length": 3}, "apply-to": "queues"}
    management.request("PUT", f"policies/{vhost}/cap", json=policy)
    deadline = time.monotonic() + 10
    while management.queue(vhost, ECHO).get("effective_policy_definition", {}).get("max-length") != 3:
        assert time.monotonic() < deadline, "the policy was not applied"
        time.sleep(0.2)
    with pytest.raises(PublishRefused, match="the queue may be full") as caught:
        app.tasks[ECHO].delay_many([{"text": str(n)} for n in range(8)], window=2)
    refused, accepted = caught.value.refused, caught.value.accepted
    assert refused and len(refused) + len(accepted) == 8
    assert queue_depth(app, ECHO) == len(accepted), "exactly the accepted calls are queued"
    with pytest.raises(PublishRefused, match="refused"):
        app.tasks[ECHO].delay(text="one more")
    assert queue_depth(app, ECHO) == len(accepted)


@pytest.mark.broker_compat
def test_delay_sends_the_same_headers_as_celerys_send_path(task_settings, management, vhost):
    app = create_app([diagnostics.Echo], task_settings)
    direct = app.tasks[ECHO].delay(text="direct")
    through_celery = app.tasks[ECHO].apply_async(kwargs={"text": "celery"}, retry=True)  # Celery's send_task
    assert direct.id != through_celery.id
    deadline = time.monotonic() + 10
    while queue_depth(app, ECHO) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    messages = {json.loads(m["payload"])[1]["text"]: m["properties"] for m in management.peek(vhost, ECHO, 2)}
    assert set(messages["direct"]["headers"]) >= set(messages["celery"]["headers"]) - {"eta"}
    assert messages["direct"]["delivery_mode"] == messages["celery"]["delivery_mode"] == 2
    assert messages["direct"]["reply_to"] == messages["celery"]["reply_to"]


@pytest.mark.broker_compat
def test_reply_queue_outlives_its_consumer_and_expires_when_unused(task_settings, management, vhost):
    app = create_app([Echo], task_settings)
    assert isinstance(app.backend, ContractRPCBackend)
    with in_process_worker(app):
        assert app.tasks[ECHO].delay(text="a").get(timeout=20).text == "a"
    reply = management.queue(vhost, app.backend.oid)
    assert reply["auto_delete"] is False
    assert reply["arguments"]["x-expires"] >= 300_000


@pytest.mark.broker_compat
def test_solo_worker_acks_each_task_after_its_result_is_confirmed(task_settings, management, vhost):
    app = create_app([Echo], task_settings)
    echo = app.tasks[ECHO]
    with in_process_worker(app):
        assert app.deferred_acks is not None, "a solo worker defers its acks to the result confirms"
        results = echo.delay_many([{"text": f"t{n}", "number": n} for n in range(300)])
        values = [result.get(timeout=30) for result in results]
        with pytest.raises(ValueError, match="asked to fail"):
            echo.delay(text="boom").get(timeout=20)
    assert [(v.text, v.number) for v in values] == [(f"t{n}", n) for n in range(300)]
    assert app.deferred_acks is None
    deadline = time.monotonic() + 15
    while queue_depth(app, ECHO) or management.queue(vhost, ECHO).get("messages_unacknowledged"):
        assert time.monotonic() < deadline, "every task message was acked once its result was confirmed"
        time.sleep(0.5)
