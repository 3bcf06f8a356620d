"""`producer scale-advice`: the replica count each consumer's queues call for, as KEDA would compute it.

The rule is the one of KEDA's ``rabbitmq`` scaler in ``QueueLength`` mode, from
``producer.scaling`` (the same targets the deploy manifests are built from):
per queue, ``ceil(queue length / messages per replica)`` clamped to [min, max]; a consumer
reading several queues has one trigger per queue and the HPA takes the largest. The queue
length is the number of *ready* messages, which is what KEDA reads over AMQP (over HTTP it adds
unacknowledged messages unless ``excludeUnacknowledged`` is set: ``--include-unacked``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from rich.table import Table

from broker_admin import ManagementClient
from producer.errors import ProducerError
from producer.scaling import SCALING_TARGETS, ScalingTarget, desired_replicas

TARGET_SPEC = re.compile(r"^(?P<consumer>[\w.-]+)=(?P<queues>[\w.,-]+):(?P<per>\d+)(?::(?P<min>\d+):(?P<max>\d+))?$")


class TargetSpecError(ProducerError):
    """Raised for a --target that does not read CONSUMER=QUEUE[,QUEUE]:PER_REPLICA[:MIN:MAX]."""


@dataclass(frozen=True)
class Advice:
    """What one consumer has and what its queues call for."""

    consumer: str
    queues: dict[str, int]
    ready: int
    unacked: int
    current_replicas: int
    desired_replicas: int
    min_replicas: int
    max_replicas: int
    messages_per_replica: int
    publish_rate: float
    deliver_rate: float
    drain_seconds: float | None

    @property
    def action(self) -> str:
        """'scale up', 'scale down' or 'ok'."""
        if self.desired_replicas > self.current_replicas:
            return "scale up"
        if self.desired_replicas < self.current_replicas:
            return "scale down"
        return "ok"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form."""
        return {**asdict(self), "action": self.action}


def parse_target(spec: str) -> ScalingTarget:
    """A ScalingTarget from CONSUMER=QUEUE[,QUEUE]:PER_REPLICA[:MIN:MAX]."""
    match = TARGET_SPEC.match(spec.strip())
    if match is None:
        raise TargetSpecError(f"--target {spec!r} must read CONSUMER=QUEUE[,QUEUE]:PER_REPLICA[:MIN:MAX]")
    per = int(match["per"])
    low, high = int(match["min"] or 1), int(match["max"] or 10)
    if per < 1 or low > high:
        raise TargetSpecError(f"--target {spec!r}: PER_REPLICA must be at least 1 and MIN at most MAX")
    queues = tuple(q for q in match["queues"].split(",") if q)
    return ScalingTarget(match["consumer"], queues, messages_per_replica=per, min_replicas=low, max_replicas=high)


def advise(
    client: ManagementClient,
    vhost: str,
    targets: Iterable[ScalingTarget] = SCALING_TARGETS,
    *,
    include_unacked: bool = False,
) -> list[Advice]:
    """Advice for each target from the current queue statistics and consumers."""
    stats = client.queue_stats(vhost)
    consumers = client.consumers(vhost)
    result = []
    for target in targets:
        queues = {name: stats[name] for name in target.queues if name in stats}
        lengths = {name: q.ready + (q.unacked if include_unacked else 0) for name, q in queues.items()}
        wanted = max((desired_replicas(lengths.get(name, 0), target) for name in target.queues), default=0)
        connections = {c.connection for c in consumers if c.queue in target.queues}
        ready = sum(q.ready for q in queues.values())
        publish = sum(q.publish_rate for q in queues.values())
        deliver = sum(q.deliver_rate for q in queues.values())
        net = deliver - publish
        drain = math.ceil(ready / net) if ready and net > 0 else (0.0 if not ready else None)
        result.append(
            Advice(
                consumer=target.consumer,
                queues={name: lengths.get(name, 0) for name in target.queues},
                ready=ready,
                unacked=sum(q.unacked for q in queues.values()),
                current_replicas=len(connections),
                desired_replicas=wanted,
                min_replicas=target.min_replicas,
                max_replicas=target.max_replicas,
                messages_per_replica=target.messages_per_replica,
                publish_rate=round(publish, 2),
                deliver_rate=round(deliver, 2),
                drain_seconds=drain,
            )
        )
    return result


def render(advice: Iterable[Advice], vhost: str) -> Table:
    """The advice table."""
    table = Table(title=f"Scaling advice for vhost {vhost!r} (KEDA QueueLength rule)", title_justify="left")
    for column in ("consumer", "queue length", "per replica", "replicas now", "needed", "range", "in/s", "out/s"):
        table.add_column(column, justify="left" if column in {"consumer", "queue length"} else "right")
    table.add_column("drains in")
    table.add_column("advice")
    for item in advice:
        lengths = ", ".join(f"{name}={length}" for name, length in item.queues.items())
        if item.drain_seconds is None:
            drain = "never at this rate" if item.ready else "-"
        else:
            drain = f"{item.drain_seconds:.0f} s"
        style = {"scale up": "bold red", "scale down": "yellow"}.get(item.action, "green")
        table.add_row(
            item.consumer,
            lengths,
            str(item.messages_per_replica),
            str(item.current_replicas),
            str(item.desired_replicas),
            f"{item.min_replicas}..{item.max_replicas}",
            f"{item.publish_rate:.1f}",
            f"{item.deliver_rate:.1f}",
            drain,
            f"[{style}]{item.action}[/]",
        )
    return table
