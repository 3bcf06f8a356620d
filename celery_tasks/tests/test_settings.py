import kombu
import pytest
from celery_tasks.errors import ConfigurationError
from celery_tasks.runtime.config import celery_config
from celery_tasks.settings import load_settings


def test_defaults_are_the_reliable_ones():
    config = celery_config(load_settings())
    assert config["accept_content"] == ["json"]
    assert config["task_serializer"] == "json"
    assert config["task_acks_late"] is True
    assert config["task_reject_on_worker_lost"] is True
    assert config["broker_transport_options"]["confirm_publish"] is True
    assert config["task_default_delivery_mode"] == "persistent"
    assert config["task_create_missing_queues"] is False
    assert config["result_backend"] == "rpc://"


def test_pickle_is_refused_even_when_configured(monkeypatch):
    monkeypatch.setenv("CELERY_TASKS_SERIALIZER", "pickle")
    with pytest.raises(ConfigurationError, match="CELERY_TASKS_SERIALIZER.*pickle.*refused"):
        load_settings()


def test_invalid_value_names_the_setting(monkeypatch):
    monkeypatch.setenv("CELERY_TASKS_PREFETCH_MULTIPLIER", "zero")
    with pytest.raises(ConfigurationError, match="CELERY_TASKS_PREFETCH_MULTIPLIER"):
        load_settings()


def test_broker_url_must_be_amqp():
    with pytest.raises(ConfigurationError, match="CELERY_TASKS_BROKER_URL"):
        load_settings(broker_url="redis://localhost:6379/0")


def test_soft_limit_must_be_below_hard_limit():
    with pytest.raises(ConfigurationError, match="soft_time_limit"):
        load_settings(soft_time_limit=10, time_limit=5)


def test_settings_read_from_dotenv_file(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("CELERY_TASKS_DELIVERY_LIMIT=9\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings().delivery_limit == 9


def test_vhost_switch_and_redaction():
    settings = load_settings(broker_url="amqp://app:s3cret@rabbit:5672//")
    assert settings.vhost == "/"
    moved = settings.with_vhost("team a")
    assert moved.vhost == "team a"
    assert "s3cret" not in moved.redacted_broker_url()
    assert moved.broker_credentials() == ("app", "s3cret")


def test_tls_options_check_the_host_name():
    config = celery_config(load_settings(broker_url="amqps://u:p@broker.example:5671//", broker_ca_certs="/ca.pem"))
    assert config["broker_use_ssl"]["server_hostname"] == "broker.example"
    assert config["broker_use_ssl"]["ca_certs"] == "/ca.pem"


def test_a_failover_list_keeps_every_node():
    nodes = ";".join(f"amqp://app:s3cret@rabbit-{n}:5672//" for n in range(3))
    settings = load_settings(broker_url=nodes)
    moved = settings.with_vhost("team a")
    assert moved.vhost == "team a"
    assert moved.broker_url.count("/team%20a") == 3
    assert moved.redacted_broker_url().count("app:***@rabbit-") == 3
    assert "s3cret" not in moved.redacted_broker_url()
    assert moved.broker_credentials() == ("app", "s3cret")
    assert len(kombu.Connection(moved.broker_url).alt) == 3, "kombu fails over through all three"
    with pytest.raises(ConfigurationError, match="redis"):
        load_settings(broker_url="amqp://rabbit-1//;redis://rabbit-2//")
