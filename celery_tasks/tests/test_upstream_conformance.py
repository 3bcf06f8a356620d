"""The Celery, kombu and py-amqp internals of celery_tasks.runtime.upstream still hold on the installed versions.

The prepared message against Celery's own create_task_message is checked in test_fast_paths.py
(test_prepared_message_decodes_to_the_message_celery_would_send); the rest is here.
"""

import inspect
from urllib.parse import urlsplit, urlunsplit

import amqp
import celery
import kombu
import pytest
from amqp import spec
from celery.app.task import Task
from celery.backends import asynchronous
from celery.backends.rpc import ResultConsumer, RPCBackend
from celery.worker.consumer import Consumer, delayed_delivery
from celery.worker.request import Request
from celery_tasks.runtime.upstream import backends as upstream_backends
from celery_tasks.runtime.upstream import consumer as upstream_consumer
from celery_tasks.runtime.upstream import messages, publish, rpc
from celery_tasks.runtime.upstream import worker as upstream_worker
from celery_tasks.settings import load_settings
from celery_tasks.tasks import diagnostics
from celery_tasks_devtools.ports import free_port

from celery_tasks import create_app

CHECKED = {"celery": "5.7", "kombu": "5.7", "amqp": "5.4"}


def offline_app():
    return create_app([diagnostics.Echo], load_settings(broker_url="amqp://guest:guest@127.0.0.1:1//"))


def test_installed_versions_are_the_checked_ones():
    installed = {"celery": celery.__version__, "kombu": kombu.__version__, "amqp": amqp.__version__}
    for name, version in CHECKED.items():
        assert installed[name].startswith(version), f"{name} {installed[name]}: re-check runtime/upstream"


def test_amqp_message_properties_keep_their_order():
    names = [name for name, _ in amqp.Message.PROPERTIES]
    assert names[:15] == [
        "content_type", "content_encoding", "application_headers", "delivery_mode", "priority",
        "correlation_id", "reply_to", "expiration", "message_id", "timestamp", "type", "user_id",
        "app_id", "cluster_id",
    ][: len(names[:15])]  # fmt: skip
    assert messages._PROPERTY_FLAGS["content_type"] == 1 << 15


def test_prepared_message_overrides_an_existing_private_method():
    assert callable(getattr(amqp.Message, "_serialize_properties", None))
    assert "_serialize_properties" in messages.PreparedMessage.__dict__


def test_task_exec_options_and_create_task_message_exist():
    assert callable(Task._get_exec_options)
    app = offline_app()
    parameters = inspect.signature(app.amqp.create_task_message).parameters
    for name in ("expires", "reply_to", "time_limit", "soft_time_limit", "create_sent_event", "argsrepr", "kwargsrepr"):
        assert name in parameters
    assert int(app.amqp.kwargsrepr_maxsize) > 0


def test_channel_private_basic_publish_exists():
    assert callable(amqp.Channel._basic_publish)
    assert "confirm_timeout" in inspect.getsource(amqp.Channel.basic_publish_confirm)


def test_publish_helpers_read_what_celery_offers():
    app = offline_app()
    assert publish.inside_running_task(app) is False
    assert publish.thread_oid(app) == app.thread_oid
    assert callable(app.backend.on_task_call)


def test_waiting_on_helper_still_exists():
    assert callable(asynchronous._waiting_on)


@pytest.mark.parametrize("name", ["_wait_for_pending", "on_state_change"])
def test_copied_result_consumer_methods_keep_upstream_signature(name):
    upstream = inspect.signature(getattr(asynchronous.BaseResultConsumer, name))
    ours = inspect.signature(getattr(rpc.ContractResultConsumer, name))
    assert list(upstream.parameters)[: len(ours.parameters)] == list(ours.parameters)[: len(upstream.parameters)]


def test_result_consumer_private_state_still_exists():
    app = offline_app()
    backend = RPCBackend(app=app)
    consumer = ResultConsumer(backend, app, backend.accept, {}, {})
    assert hasattr(consumer, "_pending_results") and hasattr(consumer, "_pending_messages")
    assert hasattr(backend, "_out_of_band")
    assert callable(getattr(celery.result.AsyncResult, "_maybe_set_cache", None))


def test_rpc_backend_methods_we_override_exist():
    for name in ("binding", "store_result", "on_task_call", "destination_for", "_to_result"):
        assert hasattr(RPCBackend, name), name


def test_raw_publish_method_frame_is_basic_publish():
    assert spec.Basic.Publish == (60, 40)
    assert callable(amqp.Channel.send_method)


def test_request_hooks_we_override_exist():
    for name in ("on_failure", "on_timeout", "acknowledged"):
        assert hasattr(Request, name), name
    parameters = inspect.signature(Request.__init__).parameters
    assert "message" in parameters


def test_replaced_bootstep_still_exists_by_name():
    assert any(step.endswith(":DelayedDelivery") for step in Consumer.Blueprint.default_steps)
    steps = upstream_consumer.ContractConsumer.Blueprint.default_steps
    assert upstream_consumer.REPLACEMENT_STEP in steps
    assert not any(step.endswith(":DelayedDelivery") for step in steps)


def test_consumer_hooks_we_use_exist():
    for name in ("on_unknown_message", "on_unknown_task", "on_invalid_task", "on_decode_error", "connection_for_write"):
        assert hasattr(Consumer, name), name


def test_per_task_loggers_are_the_ones_celery_logs_through():
    import celery.app.trace  # noqa: PLC0415 - the modules whose loggers are named
    import celery.worker.strategy  # noqa: PLC0415

    assert celery.worker.strategy.logger.name == upstream_worker.PER_TASK_LOGGERS[0]
    assert celery.app.trace.logger.name == upstream_worker.PER_TASK_LOGGERS[1]


def test_worker_command_line_options_we_read_are_celery_options():
    from celery.bin.worker import worker as worker_command  # noqa: PLC0415

    names = {name for option in worker_command.params for name in option.opts}
    for option in (
        "-Q",
        "--queues",
        "-P",
        "--pool",
        "-c",
        "--concurrency",
        "--prefetch-multiplier",
        "-l",
        "--loglevel",
    ):
        assert option in names, option
    assert upstream_worker.option_values(["-Qa,b", "--pool=solo"], "-Q", "--queues") == ["a,b"]


def test_warm_shutdown_is_named_as_celery_names_it():
    from celery.apps import worker as celery_worker  # noqa: PLC0415

    assert upstream_worker.WARM_SHUTDOWN in inspect.getsource(celery_worker)
    assert callable(celery_worker.safe_say)


def test_celery_state_helpers_exist():
    app = offline_app()
    assert upstream_worker.current_task() is None
    assert any(active is app for active in upstream_worker.active_apps())


def test_result_backend_internals_exist():
    from celery.backends.base import Backend  # noqa: PLC0415
    from celery.backends.database import DatabaseBackend  # noqa: PLC0415
    from celery.backends.database.session import SessionManager  # noqa: PLC0415

    assert callable(Backend._get_result_meta)
    assert callable(DatabaseBackend._update_result)
    manager = SessionManager()
    assert manager._engines == {} and manager.forked is False
    app = offline_app()
    upstream_backends.use_backend_class(app, upstream_backends.RPC_BACKEND)
    assert type(app.backend).__name__ == "ContractRPCBackend"


def test_publish_retry_policy_is_the_configured_one():
    app = offline_app()
    assert publish.publish_retry_policy(app)["max_retries"] == app.settings.publish_retries


@pytest.mark.broker_compat
def test_wrong_credentials_are_refused_with_the_text_we_match(task_settings):
    from amqp.exceptions import AccessRefused  # noqa: PLC0415

    url = task_settings.broker_url.replace("guest:guest@", "guest:not-the-password@", 1)
    connection = kombu.Connection(url, connect_timeout=5)
    with pytest.raises(AccessRefused) as refused:
        connection.connect()
    assert upstream_worker.LOGIN_REFUSED in str(refused.value)


def test_delayed_delivery_helpers_we_call_exist():
    for name in ("_validate_configuration", "_setup_delayed_delivery", "_on_retry"):
        assert callable(getattr(delayed_delivery.DelayedDelivery, name, None)), name
    assert list(inspect.signature(delayed_delivery.DelayedDelivery._setup_delayed_delivery).parameters) == [
        "self",
        "c",
        "broker_url",
    ]
    assert issubclass(ConnectionRefusedError, delayed_delivery.RETRIED_EXCEPTIONS)
    assert delayed_delivery.MAX_RETRIES >= 1
    # Celery's own step visits every URL of a failover list: the reason for the replacement.
    urls = "amqp://a:1//;amqp://b:2//"
    assert len(delayed_delivery.DelayedDelivery._validate_broker_urls(None, urls)) == 2


def test_delayed_delivery_is_set_up_on_the_connected_node_only(task_settings, management, vhost, caplog):
    live = urlsplit(task_settings.broker_url)
    credentials, _, _ = live.netloc.rpartition("@")
    dead = urlunsplit(live._replace(netloc=f"{credentials}@{live.hostname}:{free_port()}"))
    settings = task_settings.model_copy(update={"broker_url": f"{dead};{task_settings.broker_url}"})
    app = create_app([diagnostics.Echo], settings)
    app.declare_topology_once(diagnostics.Echo.name)
    with app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=4)  # fails over from the dead node to the live one
        consumer = type("ConsumerView", (), {"app": app, "connection": connection})()
        step = upstream_consumer.DelayedDeliveryAfterTopology(consumer)
        with caplog.at_level("DEBUG"):
            step.start(consumer)
    app.close()
    messages_logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Retrying delayed delivery" not in messages_logged
    assert "not set up" not in messages_logged
    bindings = management.request("GET", f"exchanges/{vhost}/celery_delayed_delivery/bindings/source")
    assert diagnostics.Echo.name in {binding["destination"] for binding in bindings}
