"""Queues, their statistics and their consumers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from broker_admin.errors import ManagementNotFound
from broker_admin.http import ManagementSession, segment


def _rate(stats: Mapping[str, Any], key: str) -> float:
    details = stats.get(f"{key}_details") or {}
    return float(details.get("rate") or 0.0)


@dataclass(frozen=True)
class QueueStats:
    """One queue's counts, consumers and message rates as the management API reports them."""

    name: str
    vhost: str
    type: str = "classic"
    state: str = "running"
    ready: int = 0
    unacked: int = 0
    consumers: int = 0
    publish_rate: float = 0.0
    deliver_rate: float = 0.0
    ack_rate: float = 0.0
    published: int = 0
    delivered: int = 0
    acked: int = 0

    @property
    def messages(self) -> int:
        """Ready plus unacknowledged messages."""
        return self.ready + self.unacked

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> QueueStats:
        """Build from one element of GET /api/queues (missing statistics count as zero)."""
        stats: Mapping[str, Any] = data.get("message_stats") or {}
        return cls(
            name=str(data.get("name", "")),
            vhost=str(data.get("vhost", "")),
            type=str(data.get("type", "classic")),
            state=str(data.get("state", "running")),
            ready=int(data.get("messages_ready") or 0),
            unacked=int(data.get("messages_unacknowledged") or 0),
            consumers=int(data.get("consumers") or 0),
            publish_rate=_rate(stats, "publish"),
            deliver_rate=_rate(stats, "deliver_get"),
            ack_rate=_rate(stats, "ack"),
            published=int(stats.get("publish") or 0),
            delivered=int(stats.get("deliver_get") or 0),
            acked=int(stats.get("ack") or 0),
        )


@dataclass(frozen=True)
class ConsumerInfo:
    """One consumer attached to a queue: which connection, and its prefetch."""

    queue: str
    consumer_tag: str
    connection: str
    prefetch_count: int
    ack_required: bool
    active: bool

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ConsumerInfo:
        """Build from one element of GET /api/consumers/{vhost}."""
        channel = data.get("channel_details") or {}
        queue = data.get("queue") or {}
        return cls(
            queue=str(queue.get("name", "")),
            consumer_tag=str(data.get("consumer_tag", "")),
            connection=str(channel.get("connection_name", "")),
            prefetch_count=int(data.get("prefetch_count") or 0),
            ack_required=bool(data.get("ack_required", True)),
            active=bool(data.get("active", True)),
        )


class QueuesAPI(ManagementSession):
    """The queue and consumer calls of the management API."""

    def queues(self, vhost: str) -> list[dict[str, Any]]:
        """Every queue of a vhost with its counts, consumers and rates (raw API objects)."""
        result: list[dict[str, Any]] = self.request("GET", f"queues/{segment(vhost)}")
        return result

    def queue(self, vhost: str, name: str) -> dict[str, Any]:
        """One queue with its counts, consumers and rates (raw API object)."""
        result: dict[str, Any] = self.request("GET", f"queues/{segment(vhost)}/{segment(name)}")
        return result

    def queue_stats(self, vhost: str) -> dict[str, QueueStats]:
        """Every queue of a vhost as QueueStats, by name."""
        return {stats.name: stats for stats in (QueueStats.from_api(item) for item in self.queues(vhost))}

    def consumer_count(self, vhost: str, name: str) -> int:
        """Consumers on one queue as the management API reports them (0 when the queue does not exist)."""
        try:
            return int(self.queue(vhost, name).get("consumers") or 0)
        except ManagementNotFound:
            return 0

    def consumers(self, vhost: str) -> list[ConsumerInfo]:
        """Every consumer in a vhost: its queue, connection and prefetch."""
        return [ConsumerInfo.from_api(item) for item in self.request("GET", f"consumers/{segment(vhost)}")]
