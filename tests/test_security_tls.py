"""TLS to the broker: a private RabbitMQ node with a TLS listener and a certificate from a generated CA.

The server certificate names ``localhost`` only. Clients verify the chain and the host name
(``amqps://`` URLs; CELERY_TASKS_BROKER_CA_CERTS names the CA), so the same listener
reached as 127.0.0.1, or with another CA, is refused.
"""

import sys
from pathlib import Path

import pytest
from celery_tasks.errors import BrokerUnavailable
from celery_tasks.tasks import diagnostics

from celery_tasks import create_app

sys.path.insert(0, str(Path(__file__).parent))
import certs
import faults

ECHO = diagnostics.Echo.name

pytestmark = pytest.mark.skipif(
    not faults.rabbitmq_installed(), reason="RabbitMQ is not installed on this machine (run `make broker`)"
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    base = tmp_path_factory.mktemp("pki")
    ca = certs.make_ca(base / "ca", "celery-tasks-test-ca")
    server = certs.issue_server(ca, base / "server", "rabbitmq-server", dns=["localhost"])
    other_ca = certs.make_ca(base / "other", "some-other-ca")
    return {"ca": ca, "server": server, "other_ca": other_ca}


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory, pki):
    tls = {"ca": str(pki["ca"].cert), "cert": str(pki["server"].cert), "key": str(pki["server"].key)}
    node = faults.PrivateBroker(tmp_path_factory.mktemp("rabbitmq-tls"), tls=tls)
    node.start()
    yield node
    node.stop()


def tls_settings(node, vhost, host, ca):
    return node.settings(vhost, publish_retries=1, connect_timeout=3.0).model_copy(
        update={
            "broker_url": f"amqps://guest:guest@{host}:{node.tls_port}/{vhost}",
            "broker_ca_certs": str(ca) if ca else None,
        }
    )


def test_worker_and_producer_talk_over_tls_with_the_host_name_checked(tls_broker, pki, tmp_path):
    vhost = tls_broker.create_vhost()
    settings = tls_settings(tls_broker, vhost, "localhost", pki["ca"].cert)
    worker = faults.start_worker(settings, tmp_path / "worker.log", argv=["--concurrency=1"])
    try:
        faults.wait_consuming(worker, tls_broker.management(), vhost, [ECHO])
        app = create_app(diagnostics.CONTRACTS, settings)
        assert app.conf.broker_use_ssl["server_hostname"] == "localhost"
        assert app.tasks[ECHO].delay("over tls").get(timeout=60).text == "over tls"
        connections = tls_broker.management().request("GET", "connections")
        ours = [c for c in connections if c["vhost"] == vhost]
        assert ours and all(c["ssl"] for c in ours), "every connection of the vhost uses TLS"
        print(f"tls: {len(ours)} connections, protocols {sorted({c.get('ssl_protocol') for c in ours})}")
        assert "guest:guest" not in worker.log_text()
    finally:
        worker.stop(timeout=10)


@pytest.mark.parametrize(
    ("host", "ca_name", "expected"),
    [
        ("127.0.0.1", "ca", "IP address mismatch"),
        ("localhost", "other_ca", "certificate verify failed"),
        ("localhost", None, "certificate verify failed"),
    ],
    ids=["wrong-host-name", "wrong-ca", "system-cas-only"],
)
def test_tls_is_refused_without_the_right_ca_and_host_name(tls_broker, pki, host, ca_name, expected):
    vhost = tls_broker.create_vhost()
    settings = tls_settings(tls_broker, vhost, host, pki[ca_name].cert if ca_name else None)
    app = create_app(diagnostics.CONTRACTS, settings)
    with pytest.raises(BrokerUnavailable) as caught:
        app.tasks[ECHO].delay("must not arrive")
    message = str(caught.value)
    print(f"tls refused ({host}, {ca_name}): {message[:220]}")
    assert expected in message
    assert "guest:guest" not in message and "amqps://guest:***@" in message
