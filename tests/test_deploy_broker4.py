"""The compose broker's config and definitions on RabbitMQ 4: they import, and the users keep least privilege.

A private RabbitMQ 4 node in the Debian 13 root of scripts/ensure_rabbitmq4.sh (own node name, ports,
data, cookie; the lead's rabbit4 node and the system broker are never touched) boots with
deploy/rabbitmq/rabbitmq.conf, RabbitMQ 4.3's deprecated-feature defaults included, and the
definitions rendered by render-definitions.sh, as the compose container does.
"""

import secrets
import shutil
import sys
import uuid
from pathlib import Path

import kombu
import pytest
from amqp.exceptions import AccessRefused
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks.settings import load_settings

from celery_tasks import create_app, topology

sys.path.insert(0, str(Path(__file__).parent))
import cluster
import test_deploy_broker as deploy

VHOST = deploy.VHOST


class DeployBroker4(deploy.DeployBroker, cluster.ClusterNode):
    """The compose `rabbitmq` service's setup on a RabbitMQ 4 node in the cached root."""

    unknown_settings = ()

    def start(self, timeout=120):
        self.write_config(self.inner_path(self.render()))
        self.own()
        return cluster.ClusterNode.start(self, timeout)


@pytest.fixture(scope="module")
def passwords():
    return {user["name"]: secrets.token_hex(16) for user in deploy.generate_broker_config.users()}


@pytest.fixture(scope="module")
def broker(passwords):
    cluster.ensure_root()
    base = cluster.RUNS / f"deploy-{uuid.uuid4().hex[:8]}"
    node = DeployBroker4(base, passwords)
    try:
        node.start()
        yield node
    finally:
        node.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_definitions_import_on_rabbitmq_4_with_only_the_generated_users(broker, passwords):
    overview = broker.api("overview").json()
    print(f"\ndefinitions imported into RabbitMQ {overview['rabbitmq_version']} (Erlang {overview['erlang_version']})")
    assert overview["rabbitmq_version"].startswith("4.")
    users = {user["name"] for user in broker.api("users").json()}
    assert users == set(passwords) and "guest" not in users
    assert broker.api("overview", "guest", "guest").status_code == 401
    assert VHOST in {vhost["name"] for vhost in broker.api("vhosts").json()}
    policies = {policy["name"]: policy for policy in broker.api(f"policies/{VHOST}").json()}
    expected = deploy.generate_broker_config.policies()
    assert set(policies) == {policy["name"] for policy in expected}
    for policy in expected:
        assert policies[policy["name"]]["definition"] == policy["definition"]
    denied = {item["name"] for item in broker.api("deprecated-features/used").json()}
    assert not denied, f"deprecated features in use: {denied}"


def test_contract_queues_get_their_policies_on_rabbitmq_4(broker, passwords):
    url = f"amqp://producer:{passwords['producer']}@127.0.0.1:{broker.amqp_port}/{VHOST}"
    settings = load_settings(broker_url=url, management_url=broker.management_url)
    app = create_app(ALL_CONTRACTS, settings)
    try:
        for contract in ALL_CONTRACTS:
            app.declare_topology_once(contract.name)  # with the producer's own, limited, rights
    finally:
        app.close()
    queues = broker.contract_queues_once_policed()
    for contract in ALL_CONTRACTS:
        queue = queues[contract.name]
        assert queue["type"] == "quorum" and queue["durable"]
        assert queue["policy"] == f"dead-letter-{contract.name}"
        limit = topology.task_queue(contract.name, settings.delivery_limit).queue_arguments["x-delivery-limit"]
        assert queue["effective_policy_definition"]["delivery-limit"] == limit


def test_a_service_user_cannot_touch_another_services_queues_on_rabbitmq_4(broker, passwords):
    url = f"amqp://crawler:{passwords['crawler']}@127.0.0.1:{broker.amqp_port}/{VHOST}"
    with kombu.Connection(url, connect_timeout=10) as connection:
        topology.declare(connection.channel(), "crawler.fetch_page", 5)
        with pytest.raises(AccessRefused):
            topology.declare(connection.channel(), "etl.map_keywords", 5)
        with pytest.raises(AccessRefused):
            connection.channel().basic_get("diagnostics.echo")
