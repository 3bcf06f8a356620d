"""The management API client against the real RabbitMQ: views, admin calls, errors, and no leaked credentials."""

import logging
import time
import uuid

import pytest
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks.tasks.diagnostics import Crash, Echo
from celery_tasks_devtools.ports import free_port
from celery_tasks_devtools.testing import entry_point, wait_for_parked
from producer.contract_queues import contract_statuses
from producer.dead_letters import peek_dead_letters

from broker_admin import ManagementAuthError, ManagementClient, ManagementNotFound, ManagementUnreachable
from celery_tasks import create_app

SECRET = "s3cret-" + uuid.uuid4().hex


@pytest.fixture
def worker(start_service):
    return start_service(
        [entry_point("consumer-diagnostics"), "--concurrency=1"],
        ["diagnostics.echo", "diagnostics.sleep", "diagnostics.crash"],
    )


@pytest.fixture
def temporary_user(management, vhost):
    name = f"ct-ops-{uuid.uuid4().hex[:8]}"
    management.create_user(name, SECRET, tags="management")
    management.set_permissions(vhost, name, configure="^$", write="^$", read=".*")
    yield name
    management.delete_user(name)


def test_broker_views(management, vhost):
    overview = management.overview()
    assert overview["rabbitmq_version"]
    assert management.whoami()["name"] == "guest"
    assert management.aliveness(vhost) is True
    assert vhost in management.vhosts()
    assert any(user["name"] == "guest" for user in management.users())


def statuses_once_consumed(management, vhost, contract, timeout=30.0):
    """The contract view once the management statistics show a consumer on ``contract``.

    The worker is consuming already (start_service checks over AMQP), but the management API's
    statistics are refreshed every 5 s: the view may show the queue without its consumer until then.
    """
    deadline = time.monotonic() + timeout
    while True:
        statuses = {s.contract: s for s in contract_statuses(management, vhost)}
        if statuses[contract].consumers or time.monotonic() > deadline:
            return statuses
        time.sleep(0.5)


def test_contract_view_joins_queue_consumers_and_dead_letters(worker, management, vhost, task_settings):
    app = create_app(ALL_CONTRACTS, task_settings)
    assert app.tasks[Echo.name].delay("x").get(timeout=30).text == "x"
    failed = [app.tasks[Crash.name].delay(message=f"boom {n}") for n in range(2)]
    parked = wait_for_parked(management, vhost, "diagnostics.crash.dlq", 2)
    assert {h["id"] for h in parked} == {r.id for r in failed}

    statuses = statuses_once_consumed(management, vhost, "diagnostics.echo")
    assert set(statuses) == {c.name for c in ALL_CONTRACTS}
    assert statuses["diagnostics.echo"].consumers == 1
    assert statuses["diagnostics.echo"].queue.type == "quorum"
    assert statuses["crawler.fetch_page"].queue is None  # not declared in this vhost
    assert statuses["crawler.fetch_page"].dead_letters == 0
    consumers = [c for c in management.consumers(vhost) if c.queue.startswith("diagnostics.")]
    assert {c.queue for c in consumers} >= {"diagnostics.echo", "diagnostics.sleep", "diagnostics.crash"}
    assert all(c.ack_required and c.prefetch_count == 1 for c in consumers)  # late acks, prefetch 1
    assert len({c.connection for c in consumers}) == 1  # one worker process, one connection

    letters = peek_dead_letters(management, vhost, Crash.name, count=10)
    assert sorted(letter.task_id for letter in letters) == sorted(r.id for r in failed)
    assert all(letter.error_type == "RequestedFailure" for letter in letters)
    assert sorted(letter.reason for letter in letters) == ["boom 0", "boom 1"]
    assert all(letter.task == Crash.name and letter.kwargs["mode"] == "raise" for letter in letters)
    # Peeking leaves them in place.
    assert len(peek_dead_letters(management, vhost, Crash.name, count=10)) == 2


def test_vhost_user_and_permission_management(management, vhost, temporary_user):
    permissions = {p["user"]: p for p in management.permissions(vhost)}
    assert permissions[temporary_user]["write"] == "^$"
    limited = ManagementClient(management.url, temporary_user, SECRET)
    assert limited.whoami()["name"] == temporary_user
    assert isinstance(limited.queues(vhost), list)
    management.delete_permissions(vhost, temporary_user)
    assert temporary_user not in {p["user"] for p in management.permissions(vhost)}
    management.delete_permissions(vhost, temporary_user)  # gone already: no error

    extra = f"ct-test-{uuid.uuid4().hex[:8]}"
    management.create_vhost(extra)
    try:
        assert extra in management.vhosts()
    finally:
        management.delete_vhost(extra)
    assert extra not in management.vhosts()
    management.delete_vhost(extra)  # gone already: no error


def test_errors_are_clear_and_never_carry_credentials(management, vhost, temporary_user, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = ManagementClient(management.url, temporary_user, SECRET + "-wrong")
    with pytest.raises(ManagementAuthError) as refused:
        wrong.overview()
    assert "401" in str(refused.value) and temporary_user in str(refused.value)

    with pytest.raises(ManagementNotFound):
        management.queue(vhost, "no-such-queue")
    with pytest.raises(ManagementNotFound):
        management.aliveness("no-such-vhost-" + uuid.uuid4().hex)

    port = free_port()
    down = ManagementClient(f"http://127.0.0.1:{port}", temporary_user, SECRET, retries=2, timeout=1)
    with pytest.raises(ManagementUnreachable) as unreachable:
        down.overview()
    assert "unreachable" in str(unreachable.value)
    assert down.aliveness() is False
    retried = [r for r in caplog.records if "Retrying" in r.getMessage()]
    assert len(retried) >= 2  # connection errors are retried

    in_url = ManagementClient(management.url.replace("://", f"://{temporary_user}:{SECRET}-url@"))
    assert SECRET not in in_url.url and "@" not in in_url.url
    with pytest.raises(ManagementAuthError) as from_url:
        in_url.overview()

    texts = [str(refused.value), str(unreachable.value), str(from_url.value), repr(wrong), repr(in_url), caplog.text]
    assert not [text for text in texts if SECRET in text]
