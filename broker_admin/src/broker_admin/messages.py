"""Messages read in place and queues purged, through the management API."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from broker_admin.http import ManagementSession, segment


def message_body(message: Mapping[str, Any]) -> bytes | str:
    """The body of one peeked message: base64 decoded when the API sent it so (b"" when that fails)."""
    payload = message.get("payload", "")
    if message.get("payload_encoding") != "base64":
        return str(payload)
    try:
        return base64.b64decode(payload)
    except (binascii.Error, ValueError):
        return b""


class MessagesAPI(ManagementSession):
    """The message calls of the management API."""

    def peek(self, vhost: str, queue: str, count: int = 100) -> list[dict[str, Any]]:
        """Read up to ``count`` messages and put them back (their redelivered flag is set)."""
        body = {"count": count, "ackmode": "ack_requeue_true", "encoding": "auto", "truncate": 50_000}
        result: list[dict[str, Any]] = self.request("POST", f"queues/{segment(vhost)}/{segment(queue)}/get", json=body)
        return result

    def purge(self, vhost: str, queue: str) -> None:
        """Remove every ready message from a queue."""
        self.request("DELETE", f"queues/{segment(vhost)}/{segment(queue)}/contents")
