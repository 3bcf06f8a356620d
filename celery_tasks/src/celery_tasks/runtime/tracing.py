"""OpenTelemetry tracing, switched on by the standard ``OTEL_*`` variables (optional extra ``celery-tasks[tracing]``).

Tracing is on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``)
is set, or ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp`` or ``console``); it is off
when neither is set, when ``OTEL_TRACES_EXPORTER=none`` or ``OTEL_SDK_DISABLED=true``.
Off, this module imports nothing from OpenTelemetry and connects no signal, so it costs
nothing. On, ``tracing_sdk`` does the work: see docs/observability.md.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from celery_tasks.errors import ConfigurationError

_service: str | None = None


def requested(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the ``OTEL_*`` environment asks for traces."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters:
        return exporters != "none"
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def enabled() -> bool:
    """True once this process has set tracing up."""
    return _service is not None


def setup(service: str) -> bool:
    """Set the SDK up and instrument Celery when the environment asks for it (idempotent); True when tracing.

    Call it in a service's main process before the worker starts: the span exporter of a
    prefork child is created again in the child after the fork (see ``tracing_sdk``).
    """
    global _service  # noqa: PLW0603 - one tracing setup per process
    if _service is not None or not requested():
        return enabled()
    try:
        from celery_tasks.runtime import tracing_sdk  # noqa: PLC0415 - optional extra, imported only when tracing
    except ImportError as exc:
        raise ConfigurationError(
            f"OTEL_* variables ask for traces but OpenTelemetry is not installed ({exc.name}): "
            "install celery-tasks[tracing], or unset OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_TRACES_EXPORTER"
        ) from None
    tracing_sdk.install(service)
    _service = service
    return True


@contextlib.contextmanager
def park_span(
    headers: Mapping[str, Any] | None, *, queue: str, reason: str, error_type: str, worker_version: int | None
) -> Iterator[None]:
    """A span around parking a message, child of the message's publish span; nothing when tracing is off."""
    if _service is None:
        yield
        return
    from celery_tasks.runtime import tracing_sdk  # noqa: PLC0415 - loaded by setup()

    with tracing_sdk.park_span(
        headers or {}, queue=queue, reason=reason, error_type=error_type, worker_version=worker_version
    ):
        yield


@contextlib.contextmanager
def span(name: str, attributes: Mapping[str, str | int | float | bool] | None = None) -> Iterator[None]:
    """A span around some work (a pipeline run, a stage): tasks sent inside it join its trace; nothing when off."""
    if _service is None:
        yield
        return
    from celery_tasks.runtime import tracing_sdk  # noqa: PLC0415 - loaded by setup()

    with tracing_sdk.work_span(name, attributes or {}):
        yield


def current_ids() -> tuple[str, str] | None:
    """Trace and span id (hex) of the current span, None when tracing is off or no span is current."""
    if _service is None:
        return None
    from celery_tasks.runtime import tracing_sdk  # noqa: PLC0415 - loaded by setup()

    return tracing_sdk.current_ids()
