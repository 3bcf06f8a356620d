"""Parked messages read in place through the management API, decoded: which task, why, and its arguments."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from celery_tasks.topology import dead_letter_queue_name

from broker_admin import ManagementClient, message_body
from celery_tasks import headers as header_names

PROTOCOL2_PARTS = 3


def decode_task_body(body: bytes | str) -> tuple[list[Any], dict[str, Any], dict[str, Any]] | None:
    """Celery protocol 2 JSON body ``[args, kwargs, embed]``; None when the body is anything else."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not (isinstance(value, list) and len(value) == PROTOCOL2_PARTS):
        return None
    args, kwargs, embed = value
    if not (isinstance(args, list) and isinstance(kwargs, dict) and isinstance(embed, dict | type(None))):
        return None
    return args, kwargs, embed or {}


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _optional_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


@dataclass(frozen=True)
class DeadLetter:
    """A parked message, decoded: which task, why it was parked, and its arguments."""

    task_id: str | None
    task: str | None
    reason: str | None
    error_type: str | None
    original_queue: str | None
    parked_at: str | None
    parked_by: str | None
    contract_version: int | None
    worker_version: int | None
    replay_count: int
    args: list[Any] | None
    kwargs: dict[str, Any] | None
    headers: dict[str, Any] = field(default_factory=dict)
    size: int = 0

    @classmethod
    def from_api(cls, message: Mapping[str, Any]) -> DeadLetter:
        """Build from one element of POST /api/queues/{vhost}/{queue}/get."""
        properties = message.get("properties") or {}
        found: dict[str, Any] = dict(properties.get("headers") or {})
        decoded = decode_task_body(message_body(message))
        args, kwargs = (decoded[0], decoded[1]) if decoded else (None, None)
        return cls(
            task_id=_optional_str(found.get("id")),
            task=_optional_str(found.get("task")),
            reason=_optional_str(found.get(header_names.REASON)),
            error_type=_optional_str(found.get(header_names.ERROR_TYPE)),
            original_queue=_optional_str(found.get(header_names.ORIGINAL_QUEUE)),
            parked_at=_optional_str(found.get(header_names.PARKED_AT)),
            parked_by=_optional_str(found.get(header_names.PARKED_BY)),
            contract_version=_optional_int(found.get(header_names.VERSION)),
            worker_version=_optional_int(found.get(header_names.WORKER_VERSION)),
            replay_count=_optional_int(found.get(header_names.REPLAYED)) or 0,
            args=args,
            kwargs=kwargs,
            headers=found,
            size=int(message.get("message_bytes") or 0),
        )


def peek_dead_letters(client: ManagementClient, vhost: str, contract: str, count: int = 100) -> list[DeadLetter]:
    """Up to ``count`` parked messages of a contract, decoded, left in its dead-letter queue."""
    return [DeadLetter.from_api(message) for message in client.peek(vhost, dead_letter_queue_name(contract), count)]
