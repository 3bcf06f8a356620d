"""Per-service broker users with least permissions, created through the management API.

The permission regexes are the deployment's own (deploy/generate_broker_config.py, which
renders the compose definitions and the Kubernetes topology), so this tests what ships:

- producer: configure the contract queues with their .dlx/.dlq and its reply queue (a UUID);
  write the contract exchanges (+ .dlx/.dlq); read the contract queues (to bind) and its reply queue.
- <service>: configure its own queues with .dlx/.dlq, its pidbox and celeryev; write its own
  exchanges, .dlx, pidbox replies, celeryev and amq.default (rpc:// results); read its own queues
  and its pidbox.

A consumer therefore cannot publish to another service's exchange, consume its queue or
declare it. One gap remains with ``rpc://`` results: a worker must write to ``amq.default``
to answer, and RabbitMQ cannot limit the default exchange by routing key, so a worker
could reach any queue by name through it. With a database result backend that right is
not needed: the strict variant below removes it and the gap closes.
"""

import importlib.util
import uuid
from pathlib import Path

import kombu
import pytest
import requests
from amqp.exceptions import AccessRefused
from celery_tasks.tasks import diagnostics
from celery_tasks_devtools.testing import entry_point, queue_depth, wait_for_parked

from celery_tasks import create_app, topology

ROOT = Path(__file__).resolve().parents[1]
OTHER_QUEUE = "crawler.fetch_page"


def deployment_permissions():
    spec = importlib.util.spec_from_file_location("generate_broker_config", ROOT / "deploy/generate_broker_config.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {user["name"]: user["permissions"] for user in module.users()}


@pytest.fixture
def users(management, vhost, base_settings):
    """Create broker users with given permissions on the test's vhost; returns their broker URLs."""
    created = []
    host = base_settings.broker_url.split("@", 1)[1].split("/", 1)[0]

    def create(role, permissions):
        name = f"ct-{role}-{uuid.uuid4().hex[:8]}"
        password = uuid.uuid4().hex
        management.create_user(name, password)
        management.set_permissions(vhost, name, **permissions)
        created.append(name)
        return f"amqp://{name}:{password}@{host}/{vhost}"

    yield create
    for name in created:
        management.delete_user(name)


def publish(url, exchange, routing_key):
    """Publish one message with confirms, so that a refusal raises here."""
    with kombu.Connection(url, transport_options={"confirm_publish": True}, connect_timeout=10) as connection:
        connection.Producer().publish(
            {"injected": True}, exchange=exchange, routing_key=routing_key, serializer="json", retry=False
        )


def declare_other_service(task_settings):
    admin = create_app(diagnostics.CONTRACTS, task_settings)
    with admin.connection_for_write() as connection:
        topology.declare(connection.default_channel, OTHER_QUEUE, task_settings.delivery_limit)
    return admin


def run_diagnostics_as(start_service, task_settings, worker_url, producer_url, management, vhost):
    """The diagnostics consumer and a producer under their own users: a round trip, and parking."""
    worker_settings = task_settings.model_copy(update={"broker_url": worker_url})
    start_service(
        [entry_point("consumer-diagnostics"), "--concurrency=1"], ["diagnostics.echo"], settings=worker_settings
    )
    producer = create_app(diagnostics.CONTRACTS, task_settings.model_copy(update={"broker_url": producer_url}))
    echo = producer.tasks[diagnostics.Echo.name]
    assert echo.delay("least privilege").get(timeout=60).text == "least privilege"
    bad = producer.send_task(diagnostics.Echo.name, kwargs={"text": 5}, queue=diagnostics.Echo.name)
    with pytest.raises(Exception, match="text"):
        bad.get(timeout=60)
    assert wait_for_parked(management, vhost, "diagnostics.echo.dlq", 1)[0]["x-error-type"] == "InvalidArguments"
    return producer


def test_service_users_work_and_a_consumer_cannot_publish_to_another_services_queue(
    start_service, task_settings, management, vhost, users
):
    rights = deployment_permissions()
    worker_url = users("diagnostics", rights["diagnostics"])
    producer_url = users("producer", rights["producer"])
    admin = declare_other_service(task_settings)
    run_diagnostics_as(start_service, task_settings, worker_url, producer_url, management, vhost)

    refused = []
    for exchange in (OTHER_QUEUE, f"{OTHER_QUEUE}.dlx", "amq.topic"):
        with pytest.raises(AccessRefused) as caught:
            publish(worker_url, exchange, OTHER_QUEUE)
        refused.append(f"publish to {exchange!r}: {caught.value}")
    with kombu.Connection(worker_url, connect_timeout=10) as connection:
        with pytest.raises(AccessRefused) as caught:
            connection.channel().basic_get(OTHER_QUEUE)
        refused.append(f"consume {OTHER_QUEUE!r}: {caught.value}")
        with pytest.raises(AccessRefused) as caught:
            connection.channel().queue_purge(OTHER_QUEUE)
        refused.append(f"purge {OTHER_QUEUE!r}: {caught.value}")
        with pytest.raises(AccessRefused):
            topology.declare(connection.channel(), OTHER_QUEUE, task_settings.delivery_limit)
    with pytest.raises(AccessRefused) as caught:
        publish(producer_url, "", OTHER_QUEUE)  # the producer only reaches queues through their exchanges
    refused.append(f"producer via the default exchange: {caught.value}")
    print("\n".join(refused))
    assert queue_depth(admin, OTHER_QUEUE) == 0, "nothing reached the other service's queue"


def test_known_gap_rpc_results_let_a_worker_reach_any_queue_through_the_default_exchange(task_settings, vhost, users):
    """Kept as a test so that the documentation changes when the permissions do."""
    worker_url = users("diagnostics", deployment_permissions()["diagnostics"])
    admin = declare_other_service(task_settings)
    publish(worker_url, "", OTHER_QUEUE)
    assert queue_depth(admin, OTHER_QUEUE) == 1


def test_strict_variant_without_the_default_exchange_closes_the_gap(
    start_service, task_settings, management, vhost, users, tmp_path
):
    rights = deployment_permissions()
    strict = dict(rights["diagnostics"])
    strict["write"] = strict["write"].replace(r"|^amq\.default$", "")
    assert "amq" not in strict["write"]
    producer_rights = dict(rights["producer"])
    backend = f"db+sqlite:///{tmp_path / 'results.sqlite'}"
    settings = task_settings.model_copy(update={"result_backend": backend})
    worker_url = users("diagnostics-strict", strict)
    producer_url = users("producer", producer_rights)
    admin = declare_other_service(task_settings)
    run_diagnostics_as(start_service, settings, worker_url, producer_url, management, vhost)
    with pytest.raises(AccessRefused):
        publish(worker_url, "", OTHER_QUEUE)
    assert queue_depth(admin, OTHER_QUEUE) == 0


def test_management_api_refuses_requests_without_valid_credentials(base_settings):
    url = f"{base_settings.management_url}/api/queues"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, auth=("guest", "wrong-password"), timeout=10).status_code == 401
