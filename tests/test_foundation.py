"""Foundation system tests: a consumer started by its entry point, the producer's typed API, parking."""

import pytest
from celery_tasks.errors import InvalidArguments, UnknownContract
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks.tasks.diagnostics import Echo, EchoResult
from celery_tasks_devtools.testing import entry_point, queue_depth, wait_for_parked

from celery_tasks import create_app

DIAGNOSTIC_QUEUES = ["diagnostics.echo", "diagnostics.sleep", "diagnostics.crash"]


@pytest.fixture
def diagnostics_worker(start_service):
    return start_service([entry_point("consumer-diagnostics"), "--concurrency=2"], DIAGNOSTIC_QUEUES)


@pytest.fixture
def producer_app(task_settings):
    return create_app(ALL_CONTRACTS, task_settings)


@pytest.mark.broker_compat
def test_typed_delay_get_through_a_consumer_process(diagnostics_worker, producer_app):
    echo = producer_app.tasks[Echo.name]
    results = [echo.delay(f"message {n}", n) for n in range(20)]
    values = [result.get(timeout=30) for result in results]
    assert all(isinstance(value, EchoResult) for value in values)
    assert [(value.text, value.number) for value in values] == [(f"message {n}", n) for n in range(20)]


@pytest.mark.broker_compat
def test_schema_invalid_send_task_is_parked_with_its_reason(diagnostics_worker, producer_app, management, vhost):
    result = producer_app.send_task(Echo.name, kwargs={"text": 42, "colour": "red"}, queue=Echo.name)
    with pytest.raises(InvalidArguments) as caught:
        result.get(timeout=30)
    assert "text: Input should be a valid string" in str(caught.value)
    parked = wait_for_parked(management, vhost, "diagnostics.echo.dlq", 1)
    assert [h["x-error-type"] for h in parked] == ["InvalidArguments"]
    assert "text: Input should be a valid string" in parked[0]["x-reason"]
    assert parked[0]["id"] == result.id
    # The worker keeps running after the bad message.
    assert producer_app.tasks[Echo.name].delay("still alive").get(timeout=30).text == "still alive"


def test_unknown_task_on_a_contract_queue_is_parked_and_the_caller_told(
    diagnostics_worker, producer_app, management, vhost
):
    result = producer_app.send_task("diagnostics.ecco", kwargs={"text": "x"}, queue=Echo.name)
    with pytest.raises(UnknownContract, match="unknown task name 'diagnostics.ecco'"):
        result.get(timeout=30)
    parked = wait_for_parked(management, vhost, "diagnostics.echo.dlq", 1)
    assert [h["x-error-type"] for h in parked] == ["NotRegistered"]


def test_invalid_arguments_never_reach_the_broker(producer_app):
    echo = producer_app.tasks[Echo.name]
    producer_app.declare_topology_once(Echo.name)
    with pytest.raises(InvalidArguments):
        echo.delay(text=None)
    with pytest.raises(InvalidArguments):
        echo.delay("ok", number="seven", extra=1)
    assert queue_depth(producer_app, Echo.name) == 0
    echo.delay("valid")
    assert queue_depth(producer_app, Echo.name) == 1


@pytest.mark.broker_compat
def test_single_queue_worker_sets_up_delayed_delivery_on_a_fresh_vhost(start_service):
    # One container per queue: the worker binds every contract's queue for native delayed
    # delivery, so the topology must be declared before that step runs.
    worker = start_service([entry_point("consumer-diagnostics"), "-Q", "diagnostics.sleep"], ["diagnostics.sleep"])
    # Its queue has a consumer before the later steps (delayed delivery among them) have run:
    # the worker says "ready." once every step has.
    log = worker.wait_for_output("ready.", timeout=60)
    assert "Failed to bind" not in log
    assert "Native delayed delivery will not be available" not in log
    assert "delayed delivery is not set up" not in log
