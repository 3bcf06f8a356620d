"""The audit log: one JSON line per request, accepted or refused, on the ``producer.audit`` logger.

A line names the key by its id (never the key), the contract, the task id, the outcome and the
client address. The authentication dependency fills ``request.state`` (see ``AUDIT``); this
middleware, the outermost layer, adds the status and writes the line, also for requests refused
before any route ran (a body over the limit).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER = logging.getLogger("producer.audit")
#: ``scope["state"]`` entry holding this request's audit fields (a dict).
AUDIT = "producer_audit"
#: ``scope["state"]`` entry holding a callback run with (status, task id) once the answer is known.
SETTLE = "producer_settle"


def configure_logger() -> None:
    """Send audit lines to stderr, one JSON object a line, unless the application configured the logger."""
    if not LOGGER.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        LOGGER.addHandler(handler)
        LOGGER.setLevel(logging.INFO)
        LOGGER.propagate = False


def fields(state: dict[str, Any]) -> dict[str, Any]:
    """The audit fields of a request (created on first use)."""
    result: dict[str, Any] = state.setdefault(AUDIT, {})
    return result


class AuditLog:
    """Write one audit line per HTTP request once its answer has started."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request, watching its status (and a submit's task id), then log it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500
        body = bytearray()

        async def watching_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and status == 202 and len(body) < 65536:
                body.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        finally:
            record = fields(state)
            if status == 202 and record.get("task_id") is None:
                record["task_id"] = _task_id(bytes(body))
            settle: Callable[[int, str | None], None] | None = state.get(SETTLE)
            if settle is not None:
                settle(status, record.get("task_id"))
            _write(scope, status, record)


def _task_id(body: bytes) -> str | None:
    """The ``task_id`` of a submit's answer."""
    try:
        value = json.loads(body).get("task_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _write(scope: Scope, status: int, record: dict[str, Any]) -> None:
    client = scope.get("client")
    line = {
        "event": "api_request",
        "outcome": "accepted" if status < 400 else "refused",
        "status": status,
        "method": scope.get("method"),
        "route": record.get("route") or scope.get("path"),
        "key_id": record.get("key_id"),
        "contract": record.get("contract"),
        "task_id": record.get("task_id"),
        "reason": record.get("reason"),
        "client": client[0] if client else None,
    }
    LOGGER.info(json.dumps(line))
