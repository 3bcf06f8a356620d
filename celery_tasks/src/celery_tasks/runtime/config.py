"""Translate TaskSettings into Celery configuration with the project's reliability defaults."""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import urlsplit

from celery_tasks.runtime.stores import store_config
from celery_tasks.settings import TaskSettings


def celery_config(settings: TaskSettings) -> dict[str, Any]:
    """Celery settings: JSON only, persistent confirmed publishing, late acks, quorum queues."""
    serializer = "auth" if settings.serializer == "auth" else "json"
    config: dict[str, Any] = {
        "broker_url": settings.broker_url,
        "result_backend": settings.result_backend,
        "task_serializer": serializer,
        "result_serializer": "json",
        "accept_content": [serializer],
        "result_accept_content": ["json"],
        "event_serializer": "json",
        "task_acks_late": settings.acks_late,
        "task_reject_on_worker_lost": settings.reject_on_worker_lost,
        # A failed or timed-out task is parked in <name>.dlq with its reason *before* the
        # ack (see request.py), so acking here loses nothing and loops nothing.
        "task_acks_on_failure": True,
        "task_acks_on_timeout": True,
        "worker_prefetch_multiplier": settings.prefetch_multiplier,
        "task_default_delivery_mode": "persistent",
        "task_create_missing_queues": False,
        "task_default_queue_type": "quorum",
        "task_soft_time_limit": settings.soft_time_limit,
        "task_time_limit": settings.time_limit,
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": settings.publish_retries,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 2.0,
        },
        "broker_transport_options": {
            "confirm_publish": True,
            "confirm_timeout": settings.confirm_timeout,
        },
        "broker_connection_timeout": settings.connect_timeout,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "broker_heartbeat": 30,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_send_task_events": settings.task_events,
        "task_send_sent_event": False,
        # SIGTERM: warm shutdown bounded by shutdown_grace (worker.bounded_warm_shutdown), then
        # the cold one, which must not wait again: running tasks are requeued at once.
        "worker_soft_shutdown_timeout": 0,
        "worker_enable_soft_shutdown_on_idle": False,
        "worker_consumer": "celery_tasks.runtime.upstream.consumer:ContractConsumer",
        "worker_hijack_root_logger": True,
        "result_expires": 3600,
        "result_extended": False,
        "enable_utc": True,
    }
    config.update(store_config(settings))  # result_expires and the shared stores' options (stores.py)
    tls = broker_tls_options(settings)
    if tls is not None:
        config["broker_use_ssl"] = tls
    return config


def broker_tls_options(settings: TaskSettings) -> dict[str, Any] | None:
    """TLS options for an amqps:// broker, always verifying the certificate and host name."""
    parts = urlsplit(settings.broker_url)
    if parts.scheme != "amqps":
        return None
    options: dict[str, Any] = {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": parts.hostname}
    if settings.broker_ca_certs:
        options["ca_certs"] = settings.broker_ca_certs
    if settings.broker_certfile:
        options["certfile"] = settings.broker_certfile
    if settings.broker_keyfile:
        options["keyfile"] = settings.broker_keyfile
    return options
