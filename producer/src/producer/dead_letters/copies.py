"""What a replay does with one parked copy: its identity, whether it can run now, and the headers of its move."""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
from collections.abc import Mapping
from typing import Any

from celery_tasks.contract import Contract
from celery_tasks.errors import InvalidArguments
from celery_tasks.runtime.parking import MAX_REASON_CHARS

from celery_tasks import headers as header_names
from producer.dead_letters.letters import decode_task_body

SOURCE_HEADER = "x-replay-source"
PARKED_BEFORE_HEADER = "x-parked-before"
BROKER_HEADERS = (
    "x-death",
    "x-delivery-count",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
)


def _int_header(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def task_id_of(found: Mapping[str, Any], properties: Mapping[str, Any], body: bytes) -> str:
    """The Celery task id of a message, else its message id, else a hash of its body."""
    for value in (found.get("id"), properties.get("message_id"), properties.get("correlation_id")):
        if value:
            return str(value)
    return "sha256:" + hashlib.sha256(body).hexdigest()[:24]


def message_key(task_id: str, found: Mapping[str, Any]) -> str:
    """Identity of one parked copy: its task id and how many times replay has handled it."""
    return f"{task_id}:{_int_header(found.get(header_names.REPLAYED))}"


def check_message(
    contract: type[Contract[Any, Any]], found: Mapping[str, Any], body: bytes, content_type: str
) -> tuple[str, str] | None:
    """Why a parked message cannot run under the current contract (error type, reason), or None when it can."""
    if content_type != "application/json":
        return "UnsupportedContentType", f"content type {content_type!r}: only JSON task messages can be replayed"
    decoded = decode_task_body(body)
    if decoded is None:
        return "UndecodableMessage", "the body is not a Celery protocol 2 JSON message [args, kwargs, embed]"
    task = found.get("task")
    if task != contract.name:
        return "UnknownContract", f"task name {task!r} is not {contract.name!r}, the contract of this queue"
    version = found.get(header_names.VERSION)
    accepted = contract.accepted_versions()
    if version is not None and (not isinstance(version, int) or version not in accepted):
        return "UnsupportedVersion", (
            f"contract version {version!r} is not accepted by the current {contract.name} "
            f"(version {contract.version}, accepts {accepted.start}..{accepted.stop - 1})"
        )
    args, kwargs, _ = decoded
    try:
        contract.parse_arguments(args, kwargs)
    except InvalidArguments as exc:
        return "InvalidArguments", str(exc)
    return None


def replayed_headers(found: Mapping[str, Any], source_key: str) -> dict[str, Any]:
    """Headers of a copy going back to the queue: parking and broker headers stripped, replay counted."""
    stripped = set(header_names.PARKING_HEADERS) | set(BROKER_HEADERS)
    result = {key: value for key, value in found.items() if key not in stripped}
    result[header_names.REPLAYED] = _int_header(found.get(header_names.REPLAYED)) + 1
    result[SOURCE_HEADER] = source_key
    return result


def refused_headers(found: Mapping[str, Any], source_key: str, error_type: str, reason: str) -> dict[str, Any]:
    """Headers of a copy that stays parked: the refusal as its new reason, replay counted."""
    result = {key: value for key, value in found.items() if key not in BROKER_HEADERS}
    if PARKED_BEFORE_HEADER not in result and found.get(header_names.REASON):
        before = f"{found.get(header_names.ERROR_TYPE)}: {found.get(header_names.REASON)}"
        result[PARKED_BEFORE_HEADER] = before[:MAX_REASON_CHARS]
    result.update(
        {
            header_names.REASON: f"replay refused: {reason}"[:MAX_REASON_CHARS],
            header_names.ERROR_TYPE: error_type,
            header_names.PARKED_BY: f"producer-replay@{socket.gethostname()}",
            header_names.PARKED_AT: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            header_names.REPLAYED: _int_header(found.get(header_names.REPLAYED)) + 1,
            SOURCE_HEADER: source_key,
        }
    )
    return result


def body_bytes(message: Any) -> bytes:
    """A message body as bytes, whatever the client library handed over."""
    body = message.body
    return body if isinstance(body, bytes) else str(body).encode(message.properties.get("content_encoding") or "utf-8")
