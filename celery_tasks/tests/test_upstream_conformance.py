"""The Celery, kombu and py-amqp internals of celery_tasks.runtime.upstream still hold on the installed versions.

The prepared message against Celery's own create_task_message is checked in test_fast_paths.py
(test_prepared_message_decodes_to_the_message_celery_would_send); the rest is here.
"""

import inspect

import amqp
import celery
import kombu
import pytest
from amqp import spec
from celery.app.task import Task
from celery.backends import asynchronous
from celery.backends.rpc import ResultConsumer, RPCBackend
from celery.worker.consumer import Consumer
from celery.worker.request import Request
from celery_tasks.runtime.upstream import consumer as upstream_consumer
from celery_tasks.runtime.upstream import messages, publish, rpc
from celery_tasks.settings import load_settings
from celery_tasks.tasks import diagnostics

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
