"""The contract package against a real RabbitMQ, with an in-process worker."""

import pytest
from celery_tasks.errors import InvalidArguments, NoConsumer
from celery_tasks.tasks import diagnostics
from celery_tasks_devtools.testing import in_process_worker, wait_for_parked

from celery_tasks import create_app


class Echo(diagnostics.Echo):
    def run(self, args: diagnostics.EchoArgs) -> diagnostics.EchoResult:
        return diagnostics.EchoResult(text=args.text.upper(), number=args.number + 1, worker="in-process")


@pytest.mark.broker_compat
def test_typed_round_trip_and_parking_through_a_real_broker(task_settings, management, vhost):
    app = create_app([Echo], task_settings)
    with in_process_worker(app):
        result = app.tasks["diagnostics.echo"].delay("hi", number=1).get(timeout=20)
        assert result == diagnostics.EchoResult(text="HI", number=2, worker="in-process")

        bad = app.send_task("diagnostics.echo", kwargs={"text": ["not", "text"]}, queue="diagnostics.echo")
        with pytest.raises(InvalidArguments, match="text: Input should be a valid string"):
            bad.get(timeout=20)
    parked = wait_for_parked(management, vhost, "diagnostics.echo.dlq", 1)
    assert len(parked) == 1
    assert parked[0]["x-error-type"] == "InvalidArguments"
    assert "text: Input should be a valid string" in parked[0]["x-reason"]
    assert parked[0]["x-worker-contract-version"] == 1
    queue = management.queue(vhost, "diagnostics.echo")
    assert queue["arguments"]["x-queue-type"] == "quorum"
    assert queue["durable"] is True

    # A parked message survives any number of peeks (each one is a delivery): RabbitMQ 4 would
    # drop it after 20 under its default quorum delivery limit, so the .dlq declares its own.
    for _ in range(25):
        assert len(wait_for_parked(management, vhost, "diagnostics.echo.dlq", 1)) == 1
    assert len(management.peek(vhost, "diagnostics.echo.dlq", 10)) == 1


def test_get_fails_fast_when_the_queue_has_no_consumer(task_settings):
    app = create_app([diagnostics.Echo], task_settings.model_copy(update={"no_consumer_timeout": 1.5}))
    result = app.tasks["diagnostics.echo"].delay("nobody listens")
    with pytest.raises(NoConsumer, match="no consumer"):
        result.get(timeout=30)


@pytest.mark.broker_compat
def test_a_dead_letter_queue_declared_by_an_earlier_release_is_kept_and_still_parks(task_settings, management, vhost):
    # An earlier release declared .dlq without an explicit delivery limit: redeclaring it with one
    # would be refused (406) and stop every worker; the existing queue is used as it is.
    app = create_app([Echo], task_settings)
    with app.connection_for_write() as connection:
        connection.default_channel.queue_declare(
            queue="diagnostics.echo.dlq", durable=True, auto_delete=False, arguments={"x-queue-type": "quorum"}
        )
    app.declare_topology_once("diagnostics.echo")
    with in_process_worker(app):
        assert app.tasks["diagnostics.echo"].delay("kept").get(timeout=20).text == "KEPT"
        bad = app.send_task("diagnostics.echo", kwargs={"text": 5}, queue="diagnostics.echo")
        with pytest.raises(InvalidArguments):
            bad.get(timeout=20)
    assert len(wait_for_parked(management, vhost, "diagnostics.echo.dlq", 1)) == 1
    assert "x-delivery-limit" not in management.queue(vhost, "diagnostics.echo.dlq")["arguments"]
