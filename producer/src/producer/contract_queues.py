"""Each contract joined with its queue and its dead-letter queue, from the management API's statistics."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from celery_tasks.contract import Contract
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks.topology import dead_letter_queue_name

from broker_admin import ManagementClient, QueueStats


@dataclass(frozen=True)
class ContractQueueStatus:
    """A contract joined with its queue and its dead-letter queue (None when not declared yet)."""

    contract: str
    version: int
    implemented_by: str
    queue: QueueStats | None
    dead_letter_queue: QueueStats | None

    @property
    def ready(self) -> int:
        """Messages waiting in the contract's queue."""
        return self.queue.ready if self.queue else 0

    @property
    def unacked(self) -> int:
        """Messages delivered to a worker and not acknowledged yet."""
        return self.queue.unacked if self.queue else 0

    @property
    def consumers(self) -> int:
        """Consumers on the contract's queue."""
        return self.queue.consumers if self.queue else 0

    @property
    def dead_letters(self) -> int:
        """Messages parked in the contract's dead-letter queue."""
        return self.dead_letter_queue.messages if self.dead_letter_queue else 0


def contract_statuses(
    client: ManagementClient, vhost: str, contracts: Iterable[type[Contract[Any, Any]]] | None = None
) -> list[ContractQueueStatus]:
    """Each contract joined with its queue and its ``.dlq`` (all contracts of the registry by default)."""
    stats = client.queue_stats(vhost)
    return [
        ContractQueueStatus(
            contract=contract.name,
            version=contract.version,
            implemented_by=contract.implemented_by,
            queue=stats.get(contract.name),
            dead_letter_queue=stats.get(dead_letter_queue_name(contract.name)),
        )
        for contract in (ALL_CONTRACTS if contracts is None else contracts)
    ]
