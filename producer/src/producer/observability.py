"""Tracing and JSON logs of the producer: its CLI, and the HTTP API of `producer serve` (docs/observability.md)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from celery_tasks.errors import ConfigurationError
from celery_tasks.runtime import logs, tracing
from celery_tasks.settings import load_settings
from fastapi import FastAPI

T = TypeVar("T")

SERVICE = "producer"
#: Requests not traced: health probes would drown the traces that matter.
UNTRACED_URLS = "healthz"


def log_format() -> str:
    """CELERY_TASKS_LOG_FORMAT; ``text`` when the settings are invalid (the command reports them itself)."""
    try:
        return load_settings().log_format
    except ConfigurationError:
        return "text"


def setup_process(service: str = SERVICE) -> None:
    """Log format and tracing of this process, from the environment."""
    logs.configure(service, log_format())
    tracing.setup(service)


class ContextExecutor(Executor):
    """An executor that runs each call in a copy of the submitter's context, so spans started there are its children."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Submit ``fn`` to the wrapped executor inside the caller's context."""
        return self.inner.submit(contextvars.copy_context().run, fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Shut the wrapped executor down."""
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)


def instrument_api(api: FastAPI) -> None:
    """Trace the API's requests and make each task's publish span a child of its request's span (when tracing)."""
    if not tracing.setup(SERVICE):
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor  # noqa: PLC0415 - only when tracing

    FastAPIInstrumentor.instrument_app(api, excluded_urls=UNTRACED_URLS)
    gateway = api.state.gateway  # every Celery call runs on the gateway's thread: carry the request's context there
    gateway.executor = ContextExecutor(gateway.executor)


def uvicorn_log_config() -> dict[str, Any]:
    """Uvicorn's logging configuration: its default, or its loggers writing JSON lines."""
    from uvicorn.config import LOGGING_CONFIG  # noqa: PLC0415

    if log_format() != "json":
        return LOGGING_CONFIG
    formatter = {"()": "celery_tasks.runtime.logs.JsonFormatter", "service": SERVICE}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": formatter},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["default"], "level": "INFO", "propagate": False},
        },
    }
