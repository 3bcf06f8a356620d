"""Replica counts from queue length, with the rule of KEDA's RabbitMQ scaler in QueueLength mode.

The Kubernetes manifests in deploy/k8s use the same targets, so `producer scale-advice`
and the cluster agree. KEDA's rule (an HPA on an external metric of type AverageValue):
desired = ceil(queue_length / target), clamped between min and max replicas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ScalingTarget:
    """Per-consumer scaling parameters, the same as its KEDA ScaledObject."""

    consumer: str
    queues: tuple[str, ...]
    messages_per_replica: int
    min_replicas: int = 1
    max_replicas: int = 10


SCALING_TARGETS: tuple[ScalingTarget, ...] = (
    ScalingTarget("consumer-crawler", ("crawler.fetch_page", "crawler.crawl_feed"), messages_per_replica=50),
    ScalingTarget("consumer-etl", ("etl.map_keywords", "etl.find_thresholds"), messages_per_replica=5, max_replicas=4),
    ScalingTarget("consumer-alert", ("alert.send_alert",), messages_per_replica=20, max_replicas=4),
)


def desired_replicas(queue_length: int, target: ScalingTarget) -> int:
    """Replicas KEDA would ask for: ceil(length / per-replica target), within [min, max]."""
    wanted = math.ceil(max(queue_length, 0) / target.messages_per_replica)
    return max(target.min_replicas, min(target.max_replicas, wanted))
