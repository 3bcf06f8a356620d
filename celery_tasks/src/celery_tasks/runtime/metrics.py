"""Prometheus metrics of a worker (optional extra ``celery-tasks[metrics]``, i.e. prometheus-client).

Set ``CELERY_TASKS_METRICS_PORT`` and the worker serves ``/metrics`` from its main process.
Tasks run in prefork children while parking, revocation and hard time limits are handled in
the main process, so every process writes its samples to prometheus-client's multiprocess
files and the main process serves their sum: a child that exits (``--max-tasks-per-child``,
a crash) keeps its counts. Metrics, all labelled by ``contract`` (the task and queue name) and
``version`` (the contract version this worker runs, so that old and new workers can be told apart
during a rolling upgrade):

- ``celery_tasks_tasks_received_total``: messages the worker accepted for a contract;
- ``celery_tasks_tasks_total{outcome}``: finished tasks, outcome ``succeeded``, ``failed`` or ``revoked``;
- ``celery_tasks_task_retries_total``: retries requested by tasks;
- ``celery_tasks_task_runtime_seconds``: histogram of run times of tasks that returned or raised;
- ``celery_tasks_dead_lettered_total{error_type, via}``: messages parked in ``<contract>.dlq``
  (``via="parked"``: copied with its reason) or rejected to the broker's dead-letter exchange
  because parking failed (``via="rejected"``);
- ``celery_tasks_contract_info{version, fingerprint}``: 1 per contract this worker serves.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import signals

from celery_tasks.errors import ConfigurationError

logger = logging.getLogger(__name__)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
RUNTIME_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
OUTCOMES = {"SUCCESS": "succeeded", "FAILURE": "failed"}


@dataclass
class WorkerMetrics:
    """The metric objects of one worker (shared by its main process and its pool children)."""

    received: Any
    tasks: Any
    retries: Any
    runtime: Any
    dead_lettered: Any


_lock = threading.Lock()
_metrics: WorkerMetrics | None = None
_contracts: frozenset[str] = frozenset()
_versions: dict[str, str] = {}
_started: dict[str, float] = {}
_server: Any = None


def enabled() -> bool:
    """True once this process (or the worker that forked it) serves metrics."""
    return _metrics is not None


def record_dead_lettered(contract: str, error_type: str, via: str = "parked") -> None:
    """Count a message parked in (or rejected to) a contract's dead-letter queue; no-op when disabled."""
    metrics = _metrics
    if metrics is not None:
        metrics.dead_lettered.labels(
            contract=contract, version=_versions.get(contract, ""), error_type=error_type, via=via
        ).inc()


def enable_for_worker(app: Any, port: int, address: str = "0.0.0.0") -> None:  # noqa: S104 - scraped from outside
    """Create the metrics, connect the Celery signals and serve ``/metrics`` (idempotent).

    Call it in the worker's main process before the pool starts, so that prefork children
    inherit the multiprocess setup (ContractConsumer does, when CELERY_TASKS_METRICS_PORT is set).
    """
    global _metrics, _contracts, _versions, _server  # noqa: PLW0603 - one metrics setup per process
    with _lock:
        if _metrics is not None:
            return
        try:
            from prometheus_client import CollectorRegistry, start_http_server  # noqa: PLC0415 - optional extra
            from prometheus_client import values as prometheus_values  # noqa: PLC0415
            from prometheus_client.multiprocess import MultiProcessCollector  # noqa: PLC0415
        except ImportError:
            raise ConfigurationError(
                "CELERY_TASKS_METRICS_PORT is set but prometheus-client is not installed: install celery-tasks[metrics]"
            ) from None
        directory = _prepare_directory()
        prometheus_values.ValueClass = prometheus_values.MultiProcessValue()  # type: ignore[no-untyped-call]
        _metrics = _create_metrics()
        _contracts = frozenset(getattr(app, "contracts", {}))
        _versions = {name: str(contract.version) for name, contract in getattr(app, "contracts", {}).items()}
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
        registry.register(_ContractInfo(app))
        _connect_signals()
        try:
            _server, _ = start_http_server(port, addr=address, registry=registry)
        except OSError as exc:
            raise ConfigurationError(
                f"CELERY_TASKS_METRICS_PORT: cannot serve metrics on {address}:{port}: {exc.strerror}"
            ) from None
        logger.info("serving Prometheus metrics on http://%s:%s/metrics", address, port)


def _prepare_directory() -> Path:
    """The multiprocess directory: the configured one emptied, else a private one removed at exit."""
    configured = os.environ.get(MULTIPROCESS_ENV)
    if configured:
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):  # counts of an earlier run would add up with ours
            stale.unlink()
        return directory
    directory = Path(tempfile.mkdtemp(prefix="celery-tasks-metrics-"))
    os.environ[MULTIPROCESS_ENV] = str(directory)
    owner = os.getpid()

    def remove() -> None:
        if os.getpid() == owner:
            shutil.rmtree(directory, ignore_errors=True)

    atexit.register(remove)
    return directory


def _create_metrics() -> WorkerMetrics:
    from prometheus_client import Counter, Histogram  # noqa: PLC0415 - optional extra

    return WorkerMetrics(
        received=Counter(
            "celery_tasks_tasks_received",
            "Task messages received by the worker.",
            ["contract", "version"],
            registry=None,
        ),
        tasks=Counter(
            "celery_tasks_tasks",
            "Finished tasks by outcome (succeeded, failed, revoked).",
            ["contract", "version", "outcome"],
            registry=None,
        ),
        retries=Counter(
            "celery_tasks_task_retries", "Retries requested by tasks.", ["contract", "version"], registry=None
        ),
        runtime=Histogram(
            "celery_tasks_task_runtime_seconds",
            "Run time of tasks that returned or raised.",
            ["contract", "version"],
            buckets=RUNTIME_BUCKETS,
            registry=None,
        ),
        dead_lettered=Counter(
            "celery_tasks_dead_lettered",
            "Messages sent to a contract's dead-letter queue (parked with a reason, or rejected to the DLX).",
            ["contract", "version", "error_type", "via"],
            registry=None,
        ),
    )


class _ContractInfo:
    """A collector of one constant sample per served contract: its version and schema fingerprint."""

    def __init__(self, app: Any) -> None:
        self.contracts = dict(getattr(app, "contracts", {}))

    def collect(self) -> Iterator[Any]:
        """Yield the info family."""
        from prometheus_client.core import GaugeMetricFamily  # noqa: PLC0415 - optional extra

        family = GaugeMetricFamily(
            "celery_tasks_contract_info",
            "Contracts this worker serves, with their version and schema fingerprint.",
            labels=["contract", "version", "fingerprint"],
        )
        for name, contract in sorted(self.contracts.items()):
            family.add_metric([name, str(contract.version), contract.fingerprint], 1.0)
        yield family


def _name_of(sender: Any) -> str | None:
    """The contract name of a signal's sender task, None for tasks that are not contracts."""
    name = getattr(sender, "name", None)
    return name if name in _contracts else None


def _on_received(sender: Any = None, request: Any = None, **_: Any) -> None:
    name = getattr(request, "name", None)
    if _metrics is not None and name in _contracts:
        _metrics.received.labels(contract=name, version=_versions.get(name, "")).inc()


def _on_prerun(sender: Any = None, task_id: str | None = None, **_: Any) -> None:
    if task_id is not None and _name_of(sender):
        _started[task_id] = time.perf_counter()


def _on_postrun(sender: Any = None, task_id: str | None = None, state: str | None = None, **_: Any) -> None:
    started = _started.pop(task_id, None) if task_id is not None else None
    name = _name_of(sender)
    if _metrics is None or name is None or started is None:
        return
    if state in OUTCOMES or state == "RETRY":
        _metrics.runtime.labels(contract=name, version=_versions.get(name, "")).observe(time.perf_counter() - started)


def _on_success(sender: Any = None, **_: Any) -> None:
    name = _name_of(sender)
    if _metrics is not None and name:
        _metrics.tasks.labels(contract=name, version=_versions.get(name, ""), outcome="succeeded").inc()


def _on_failure(sender: Any = None, **_: Any) -> None:
    name = _name_of(sender)
    if _metrics is not None and name:
        _metrics.tasks.labels(contract=name, version=_versions.get(name, ""), outcome="failed").inc()


def _on_retry(sender: Any = None, **_: Any) -> None:
    name = _name_of(sender)
    if _metrics is not None and name:
        _metrics.retries.labels(contract=name, version=_versions.get(name, "")).inc()


def _on_revoked(sender: Any = None, request: Any = None, **_: Any) -> None:
    name = _name_of(sender) or getattr(request, "name", None)
    if _metrics is not None and name in _contracts:
        _metrics.tasks.labels(contract=name, version=_versions.get(name, ""), outcome="revoked").inc()


def _on_child_start(**_: Any) -> None:
    """In a new pool child: drop the inherited copy of the main process's listening socket."""
    server = _server
    if server is not None:
        server.socket.close()


def _on_child_exit(pid: int | None = None, **_: Any) -> None:
    from prometheus_client import multiprocess  # noqa: PLC0415 - optional extra

    multiprocess.mark_process_dead(os.getpid() if pid is None else pid)  # type: ignore[no-untyped-call]


def _connect_signals() -> None:
    """Connect the handlers once (strong references, stable dispatch ids)."""
    for signal, handler in (
        (signals.task_received, _on_received),
        (signals.task_prerun, _on_prerun),
        (signals.task_postrun, _on_postrun),
        (signals.task_success, _on_success),
        (signals.task_failure, _on_failure),
        (signals.task_retry, _on_retry),
        (signals.task_revoked, _on_revoked),
        (signals.worker_process_init, _on_child_start),
        (signals.worker_process_shutdown, _on_child_exit),
    ):
        signal.connect(handler, weak=False, dispatch_uid=f"celery_tasks.metrics.{handler.__name__}")
