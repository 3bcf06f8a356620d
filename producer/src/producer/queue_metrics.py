"""`producer metrics`: a Prometheus exporter of queue depth, consumers and dead letters per contract.

Each scrape asks the management API once (answers are reused for ``min_interval`` seconds, so
several scrapers do not multiply the load). Workers export their own task metrics
(``CELERY_TASKS_METRICS_PORT``, see ``celery_tasks.runtime.metrics``); this exporter covers what only
the broker knows, such as messages waiting in a queue that has no worker at all.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from broker_admin import ManagementAPIError, ManagementClient
from producer.contract_queues import ContractQueueStatus, contract_statuses
from producer.scaling import SCALING_TARGETS, ScalingTarget, desired_replicas


class QueueCollector(Collector):
    """Collects per-contract queue metrics from the management API at scrape time."""

    def __init__(
        self,
        client: ManagementClient,
        vhost: str,
        targets: Iterable[ScalingTarget] = SCALING_TARGETS,
        *,
        min_interval: float = 1.0,
    ) -> None:
        self.client = client
        self.vhost = vhost
        self.targets = tuple(targets)
        self.min_interval = min_interval
        self._lock = threading.Lock()
        self._cached: tuple[float, list[ContractQueueStatus] | None] = (-1e9, None)

    def _statuses(self) -> list[ContractQueueStatus] | None:
        with self._lock:
            taken, statuses = self._cached
            if time.monotonic() - taken >= self.min_interval:
                try:
                    statuses = contract_statuses(self.client, self.vhost)
                except ManagementAPIError:
                    statuses = None
                self._cached = (time.monotonic(), statuses)
            return statuses

    def collect(self) -> Iterator[Any]:
        """Yield the metric families of one scrape."""
        statuses = self._statuses()
        up = GaugeMetricFamily("celery_tasks_management_up", "1 when the RabbitMQ management API answered.")
        up.add_metric([], 0.0 if statuses is None else 1.0)
        yield up
        if statuses is None:
            return
        gauges = {
            "ready": GaugeMetricFamily(
                "celery_tasks_queue_messages_ready", "Messages waiting in the contract's queue.", labels=["contract"]
            ),
            "unacked": GaugeMetricFamily(
                "celery_tasks_queue_messages_unacknowledged",
                "Messages delivered to a worker and not acknowledged yet.",
                labels=["contract"],
            ),
            "consumers": GaugeMetricFamily(
                "celery_tasks_queue_consumers", "Consumers on the contract's queue.", labels=["contract"]
            ),
            "dead": GaugeMetricFamily(
                "celery_tasks_dead_letter_messages",
                "Messages parked in the contract's dead-letter queue.",
                labels=["contract"],
            ),
        }
        counters = {
            "published": CounterMetricFamily(
                "celery_tasks_queue_messages_published",
                "Messages published to the contract's queue (since the broker's statistics began).",
                labels=["contract"],
            ),
            "delivered": CounterMetricFamily(
                "celery_tasks_queue_messages_delivered",
                "Messages delivered from the contract's queue to consumers.",
                labels=["contract"],
            ),
            "acked": CounterMetricFamily(
                "celery_tasks_queue_messages_acknowledged",
                "Messages acknowledged by consumers of the contract's queue.",
                labels=["contract"],
            ),
        }
        declared = GaugeMetricFamily(
            "celery_tasks_queue_declared", "1 when the contract's queue exists on the broker.", labels=["contract"]
        )
        ready_by_queue: dict[str, int] = {}
        for status in statuses:
            labels = [status.contract]
            declared.add_metric(labels, 1.0 if status.queue else 0.0)
            if status.queue is None:
                continue
            ready_by_queue[status.contract] = status.ready
            gauges["ready"].add_metric(labels, status.ready)
            gauges["unacked"].add_metric(labels, status.unacked)
            gauges["consumers"].add_metric(labels, status.consumers)
            gauges["dead"].add_metric(labels, status.dead_letters)
            counters["published"].add_metric(labels, status.queue.published)
            counters["delivered"].add_metric(labels, status.queue.delivered)
            counters["acked"].add_metric(labels, status.queue.acked)
        yield declared
        yield from gauges.values()
        yield from counters.values()
        desired = GaugeMetricFamily(
            "celery_tasks_desired_replicas",
            "Replicas each consumer's queues call for under KEDA's QueueLength rule.",
            labels=["consumer"],
        )
        for target in self.targets:
            wanted = max(desired_replicas(ready_by_queue.get(name, 0), target) for name in target.queues)
            desired.add_metric([target.consumer], wanted)
        yield desired


def serve(
    client: ManagementClient, vhost: str, port: int, address: str, *, stop: threading.Event | None = None
) -> None:
    """Serve /metrics until SIGTERM, SIGINT or ``stop`` is set."""
    registry = CollectorRegistry()
    registry.register(QueueCollector(client, vhost))
    server, thread = start_http_server(port, addr=address, registry=registry)
    stop = stop or threading.Event()

    def finish(*_: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, finish) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
