"""The OpenTelemetry side of tracing: SDK set-up, Celery instrumentation, span attributes (imported only when on).

- One ``TracerProvider`` per process, its exporters chosen by ``OTEL_TRACES_EXPORTER``
  (``otlp``, the default, over HTTP/protobuf; ``console``) and configured by the other
  standard ``OTEL_EXPORTER_OTLP_*`` / ``OTEL_BSP_*`` variables.
- Fork safety: each exporter and its batch processor sit behind ``ForkSafeSpanProcessor``,
  which builds them again in a prefork child after the fork (``worker_process_init``, or the
  first span in a process with another pid), so a child never shares the parent's HTTP
  session or export thread; a child flushes its spans when it exits (``worker_process_shutdown``).
- ``opentelemetry-instrumentation-celery`` makes the worker's run span a child of the
  publish span, through the W3C ``traceparent`` header of the message. Its publish hooks
  look tasks up in Celery's *current* app only (this package's apps are not current) and
  attach the publish span as current context, which breaks when many messages are
  prepared before they are published (``delay_many``): ``ContractCeleryInstrumentor``
  replaces those two hooks. A message without ``traceparent`` (a foreign client) simply
  starts a new trace, and a worker without tracing ignores the header.
- Every span carries the contract name and version, queue and task id; run spans also
  the outcome and retries; a parked message gets a ``park/<queue>`` span with the reason.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from celery import signals, states
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.instrumentation.celery import utils as celery_utils
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode, format_span_id, format_trace_id

from celery_tasks import headers as contract_headers
from celery_tasks.errors import ConfigurationError
from celery_tasks.runtime.upstream.worker import active_apps

CONTRACT = "celery_tasks.contract"
VERSION = "celery_tasks.contract.version"
MESSAGE_VERSION = "celery_tasks.message.version"
QUEUE = "messaging.destination.name"
TASK_ID = "celery_tasks.task_id"
OUTCOME = "celery_tasks.outcome"
RETRIES = "celery_tasks.retries"
PARKING_REASON = "celery_tasks.parking.reason"
PARKING_ERROR_TYPE = "celery_tasks.parking.error_type"

OUTCOMES = {states.SUCCESS: "succeeded", states.FAILURE: "failed", states.RETRY: "retried", states.REVOKED: "revoked"}
MAX_OPEN_PUBLISHES = 10_000
TRACER_NAME = "celery_tasks"

_provider: TracerProvider | None = None
_processors: list[ForkSafeSpanProcessor] = []


class ForkSafeSpanProcessor(SpanProcessor):
    """A span processor built by ``factory`` in each process: a forked child gets its own, never the parent's."""

    def __init__(self, factory: Callable[[], SpanProcessor]) -> None:
        self._factory = factory
        self._pid = os.getpid()
        self._delegate = factory()

    def current(self) -> SpanProcessor:
        """This process's processor, built anew after a fork."""
        if self._pid != os.getpid():
            self._delegate = self._factory()  # the parent's copy (thread, HTTP session) is left alone
            self._pid = os.getpid()
        return self._delegate

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        """Pass a started span on."""
        self.current().on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        """Pass an ended span on (to be exported)."""
        self.current().on_end(span)

    def shutdown(self) -> None:
        """Export what is left and stop."""
        self.current().shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export every ended span now."""
        return bool(self.current().force_flush(timeout_millis))


def _exporter_factories() -> list[Callable[[], SpanProcessor]]:
    """One processor factory per name in OTEL_TRACES_EXPORTER (``otlp`` when unset)."""
    names = [n.strip() for n in os.environ.get("OTEL_TRACES_EXPORTER", "otlp").lower().split(",") if n.strip()]
    factories: list[Callable[[], SpanProcessor]] = []
    for name in names:
        if name == "otlp":
            protocol = os.environ.get(
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            )
            if protocol.strip().lower() != "http/protobuf":
                raise ConfigurationError(
                    f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: only 'http/protobuf' is installed "
                    "(point OTEL_EXPORTER_OTLP_ENDPOINT at the collector's HTTP port, usually 4318)"
                )
            factories.append(_otlp_processor)
        elif name == "console":
            factories.append(lambda: SimpleSpanProcessor(ConsoleSpanExporter()))
        elif name != "none":
            raise ConfigurationError(
                f"OTEL_TRACES_EXPORTER: unknown exporter {name!r}: use 'otlp', 'console' or 'none'"
            )
    return factories


def _otlp_processor() -> SpanProcessor:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

    return BatchSpanProcessor(OTLPSpanExporter())


def install(service: str) -> None:
    """Create this process's tracer provider, instrument Celery and connect the fork and attribute hooks."""
    global _provider  # noqa: PLW0603 - one provider per process
    if _provider is not None:
        return
    factories = _exporter_factories()
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or service})
    provider = TracerProvider(resource=resource)
    for factory in factories:
        processor = ForkSafeSpanProcessor(factory)
        _processors.append(processor)
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    _provider = provider
    # Order matters: the outcome is set before the instrumentation ends the run span, the
    # contract attributes after it has started it.
    signals.task_postrun.connect(_on_postrun, weak=False, dispatch_uid="celery_tasks.tracing.postrun")
    ContractCeleryInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    signals.task_prerun.connect(_on_prerun, weak=False, dispatch_uid="celery_tasks.tracing.prerun")
    signals.worker_process_init.connect(_on_child_start, weak=False, dispatch_uid="celery_tasks.tracing.init")
    signals.worker_process_shutdown.connect(_on_child_exit, weak=False, dispatch_uid="celery_tasks.tracing.exit")


def _on_child_start(**_: Any) -> None:
    """In a new prefork child: build the exporters of this process now."""
    for processor in _processors:
        processor.current()


def _on_child_exit(**_: Any) -> None:
    """A prefork child leaves without running atexit handlers: export its spans first."""
    if _provider is not None:
        _provider.force_flush(5000)


def _tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def _task_named(name: str) -> Any:
    """The task object of a name in any live app (publish signals give only the name)."""
    for app in active_apps():
        task = app.tasks.get(name)
        if task is not None:
            return task
    return None


class _Publishes:
    """Publish spans between before_task_publish and after_task_publish, by task id (bounded)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open: OrderedDict[str, trace.Span] = OrderedDict()

    def add(self, task_id: str, span: trace.Span) -> None:
        with self.lock:
            self.open[task_id] = span
            while len(self.open) > MAX_OPEN_PUBLISHES:  # publishes that failed never get their after signal
                _, stale = self.open.popitem(last=False)
                stale.set_status(Status(StatusCode.ERROR, "publish not confirmed"))
                stale.end()

    def pop(self, task_id: str) -> trace.Span | None:
        with self.lock:
            return self.open.pop(task_id, None)


_publishes = _Publishes()


class ContractCeleryInstrumentor(CeleryInstrumentor):
    """The Celery instrumentation with publish hooks that find this package's tasks and leave the context alone."""

    def _trace_before_publish(self, *args: Any, **kwargs: Any) -> None:
        message_headers = kwargs.get("headers")
        task_id = celery_utils.retrieve_task_id_from_message(kwargs)
        if task_id is None or not isinstance(message_headers, dict):
            return
        sender = kwargs.get("sender")
        name = sender if isinstance(sender, str) else getattr(sender, "name", "unknown")
        task = _task_named(name) if isinstance(sender, str) else sender
        span = self._tracer.start_span(f"apply_async/{name}", kind=SpanKind.PRODUCER)
        if span.is_recording():
            span.set_attribute("celery.action", "apply_async")
            span.set_attribute("celery.task_name", name)
            span.set_attribute(TASK_ID, task_id)
            span.set_attribute(CONTRACT, name)
            span.set_attribute(QUEUE, str(kwargs.get("routing_key") or name))
            version = message_headers.get(contract_headers.VERSION, getattr(task, "version", None))
            if isinstance(version, int):
                span.set_attribute(VERSION, version)
            celery_utils.set_attributes_from_context(span, kwargs)
        propagate.inject(message_headers, context=trace.set_span_in_context(span))
        _publishes.add(task_id, span)

    @staticmethod
    def _trace_after_publish(*args: Any, **kwargs: Any) -> None:
        task_id = celery_utils.retrieve_task_id_from_message(kwargs)
        span = _publishes.pop(task_id) if task_id is not None else None
        if span is not None:
            span.end()


def _run_span(task: Any, task_id: str | None) -> trace.Span | None:
    context = celery_utils.retrieve_context(task, task_id) if task_id else None
    return context[0] if context else None


def _on_prerun(sender: Any = None, task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """Contract name and versions, queue, task id and retries on the run span."""
    task = task or sender
    span = _run_span(task, task_id)
    if span is None or not span.is_recording():
        return
    request = task.request
    span.set_attribute(CONTRACT, task.name)
    version = getattr(task, "version", None)
    if isinstance(version, int):
        span.set_attribute(VERSION, version)
    sent = getattr(request, contract_headers.VERSION, None)
    if isinstance(sent, int):
        span.set_attribute(MESSAGE_VERSION, sent)
    delivery = getattr(request, "delivery_info", None) or {}
    span.set_attribute(QUEUE, str(delivery.get("routing_key") or getattr(task, "queue", None) or task.name))
    span.set_attribute(TASK_ID, str(task_id))
    span.set_attribute(RETRIES, int(getattr(request, "retries", 0) or 0))


def _on_postrun(sender: Any = None, task_id: str | None = None, task: Any = None, state: Any = None, **_: Any) -> None:
    """The outcome on the run span, before the instrumentation ends it."""
    span = _run_span(task or sender, task_id)
    if span is not None and span.is_recording() and state:
        span.set_attribute(OUTCOME, OUTCOMES.get(str(state), str(state).lower()))


@contextlib.contextmanager
def park_span(
    message_headers: Mapping[str, Any], *, queue: str, reason: str, error_type: str, worker_version: int | None
) -> Iterator[None]:
    """A ``park/<queue>`` span, child of the parked message's publish span, with the reason."""
    parent = propagate.extract(dict(message_headers))
    with _tracer().start_as_current_span(f"park/{queue}", context=parent, kind=SpanKind.PRODUCER) as span:
        span.set_attribute(CONTRACT, queue)
        span.set_attribute(QUEUE, queue)
        span.set_attribute(OUTCOME, "parked")
        span.set_attribute(PARKING_REASON, reason[:1000])
        span.set_attribute(PARKING_ERROR_TYPE, error_type)
        task_id = message_headers.get("id")
        if isinstance(task_id, str):
            span.set_attribute(TASK_ID, task_id)
        if worker_version is not None:
            span.set_attribute(VERSION, worker_version)
        sent = message_headers.get(contract_headers.VERSION)
        if isinstance(sent, int):
            span.set_attribute(MESSAGE_VERSION, sent)
        yield


@contextlib.contextmanager
def work_span(name: str, attributes: Mapping[str, str | int | float | bool]) -> Iterator[None]:
    """An INTERNAL span, current while the block runs (its publishes become its children); errors recorded."""
    with _tracer().start_as_current_span(name, kind=SpanKind.INTERNAL, attributes=dict(attributes)):
        yield


def current_ids() -> tuple[str, str] | None:
    """Trace and span id of the current span in hex, None when there is none."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format_trace_id(context.trace_id), format_span_id(context.span_id)
