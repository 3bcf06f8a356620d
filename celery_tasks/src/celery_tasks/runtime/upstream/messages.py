"""Celery task messages of one contract, built from a template: per message only the task id and payload change.

A Celery message carries some twenty headers. py-amqp encodes the whole header table
again for every message, in pure Python, which costs more than everything else a bulk
send does. Here the constant part of the table (task name, limits, origin, contract
headers, ...) is encoded once, and each message adds only its id, root id and
argument summary. The body is the validated payload as pydantic writes it (JSON),
wrapped in Celery's protocol-2 envelope. Messages are persistent (delivery mode 2).

The result is byte-for-byte the message Celery's ``apply_async`` would send, except
that the ``kwargsrepr`` header shows the arguments as JSON. Signed (``auth``) or
compressed messages are built through kombu's serializers instead.
"""

from __future__ import annotations

import json
import struct
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import amqp
from amqp.serialization import dumps as amqp_dumps
from celery import signals
from kombu.compression import compress
from kombu.serialization import dumps as kombu_dumps
from pydantic import BaseModel

if TYPE_CHECKING:
    from celery_tasks.contract import Contract

PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"
VARYING_HEADERS = ("id", "root_id", "kwargsrepr")
PERSISTENT = 2
JSON_CONTENT_TYPE = "application/json"
_PROPERTY_FLAGS = {name: 1 << (15 - position) for position, (name, _) in enumerate(amqp.Message.PROPERTIES[:15])}
_UINT32 = struct.Struct(">I")


def _shortstr(value: str) -> bytes:
    raw = value.encode("utf-8", "surrogatepass")
    if len(raw) > 255:
        raise ValueError(f"AMQP short string over 255 bytes: {value[:40]!r}...")
    return bytes((len(raw),)) + raw


def _string_entry(key: str, value: str) -> bytes:
    """One header-table entry holding a long string."""
    raw = value.encode("utf-8", "surrogatepass")
    return _shortstr(key) + b"S" + _UINT32.pack(len(raw)) + raw


class PreparedMessage(amqp.Message):  # type: ignore[misc]
    """An AMQP message whose header frame was encoded in advance."""

    def __init__(self, body: bytes, encoded_properties: bytes, **properties: Any) -> None:
        super().__init__(body, **properties)
        self.encoded_properties = encoded_properties

    def _serialize_properties(self) -> bytes:
        return self.encoded_properties


class TaskMessageFactory:
    """Builds the task messages of one contract for one set of options."""

    def __init__(
        self,
        task: Contract[Any, Any],
        *,
        headers: Mapping[str, Any] | None = None,
        priority: int | None = None,
        expires: float | None = None,
        time_limit: float | None = None,
        soft_time_limit: float | None = None,
    ) -> None:
        self.task = task
        app = task.app
        self.app = app
        exec_options = task._get_exec_options()
        self.priority = exec_options.get("priority") if priority is None else priority
        self.reply_to = app.thread_oid
        template, properties, body, _ = app.amqp.create_task_message(
            PLACEHOLDER_ID,
            task.name,
            (),
            {},
            expires=expires,
            reply_to=self.reply_to,
            time_limit=exec_options.get("time_limit") if time_limit is None else time_limit,
            soft_time_limit=exec_options.get("soft_time_limit") if soft_time_limit is None else soft_time_limit,
            create_sent_event=False,
            argsrepr="()",
            kwargsrepr="",
        )
        template.update(headers or {})
        template.update(task.contract_headers())
        self.headers = template
        self.embed = body[2]
        self.kwargsrepr_limit = int(app.amqp.kwargsrepr_maxsize)
        self.properties = dict(properties)
        self.properties["delivery_mode"] = PERSISTENT
        if isinstance(expires, int | float):
            self.properties["expiration"] = str(max(int(expires * 1000), 0))
        self.serializer = app.conf.task_serializer
        self.compression = app.conf.task_compression
        self.fast = self.serializer == "json" and not self.compression
        if self.fast:
            self._prepare_template()

    def _prepare_template(self) -> None:
        """Encode what every message shares: property flags, content type, constant headers, reply queue."""
        present = {
            "content_type": JSON_CONTENT_TYPE,
            "content_encoding": "utf-8",
            "application_headers": True,
            "delivery_mode": PERSISTENT,
            "priority": self.priority,
            "correlation_id": True,
            "reply_to": self.properties.get("reply_to"),
            "expiration": self.properties.get("expiration"),
        }
        flags = 0
        for name, value in present.items():
            if value is not None:
                flags |= _PROPERTY_FLAGS[name]
        self._prefix = struct.pack(">H", flags) + _shortstr(JSON_CONTENT_TYPE) + _shortstr("utf-8")
        constant = {key: value for key, value in self.headers.items() if key not in VARYING_HEADERS}
        self._constant_entries = amqp_dumps("F", [constant])[4:]
        self._middle = bytes((PERSISTENT,)) + (bytes((self.priority,)) if self.priority is not None else b"")
        suffix = b""
        for name in ("reply_to", "expiration"):
            value = self.properties.get(name)
            if value is not None:
                suffix += _shortstr(value)
        self._suffix = suffix
        embed = json.dumps(self.embed, separators=(",", ":")).encode()
        self._body_tail = b"," + embed + b"]"

    def payload_json(self, arguments: BaseModel) -> bytes:
        """The validated arguments as JSON, size checked by the contract's one check (``Contract.payload_json``)."""
        return self.task.payload_json(arguments)

    def build(self, payload: bytes, task_id: str | None = None) -> tuple[str, amqp.Message]:
        """A task id and the message carrying ``payload`` (JSON of the argument model)."""
        task_id = task_id or str(uuid.uuid4())
        kwargsrepr = payload[: self.kwargsrepr_limit].decode("utf-8", "replace")
        added: dict[str, Any] = {}
        before = signals.before_task_publish
        if before.receivers:
            added = self._send_before_publish(task_id, payload, kwargsrepr)
        if not self.fast:
            return task_id, self._build_with_kombu(task_id, payload, kwargsrepr, added)
        varying = _string_entry("id", task_id) + _string_entry("root_id", task_id)
        varying += _string_entry("kwargsrepr", kwargsrepr)
        if added:  # e.g. the trace context a tracing receiver injected (traceparent)
            varying += amqp_dumps("F", [added])[4:]
        encoded = b"".join(
            (
                self._prefix,
                _UINT32.pack(len(self._constant_entries) + len(varying)),
                self._constant_entries,
                varying,
                self._middle,
                _shortstr(task_id),
                self._suffix,
            )
        )
        body = b"[[]," + payload + self._body_tail
        message = PreparedMessage(
            body,
            encoded,
            content_type=JSON_CONTENT_TYPE,
            content_encoding="utf-8",
            correlation_id=task_id,
            delivery_mode=PERSISTENT,
        )
        return task_id, message

    def headers_for(self, task_id: str, kwargsrepr: str) -> dict[str, Any]:
        """The full header table of one message."""
        return {**self.headers, "id": task_id, "root_id": task_id, "kwargsrepr": kwargsrepr}

    def _build_with_kombu(
        self, task_id: str, payload: bytes, kwargsrepr: str, added: Mapping[str, Any] | None = None
    ) -> amqp.Message:
        headers = {**self.headers_for(task_id, kwargsrepr), **(added or {})}
        body = ((), json.loads(payload), self.embed)
        content_type, content_encoding, data = kombu_dumps(body, serializer=self.serializer)
        if self.compression:
            data, headers["compression"] = compress(data, self.compression)
        properties = {**self.properties, "correlation_id": task_id}
        return amqp.Message(
            data,
            priority=self.priority,
            content_type=content_type,
            content_encoding=content_encoding,
            application_headers=headers,
            **properties,
        )

    def _send_before_publish(self, task_id: str, payload: bytes, kwargsrepr: str) -> dict[str, Any]:
        """Send before_task_publish; returns the headers its receivers added, which the message then carries."""
        headers = self.headers_for(task_id, kwargsrepr)
        signals.before_task_publish.send(
            sender=self.task.name,
            body=((), json.loads(payload), self.embed),
            exchange=self.task.name,
            routing_key=self.task.name,
            declare=[],
            headers=headers,
            properties={**self.properties, "correlation_id": task_id},
            retry_policy=None,
        )
        return {key: value for key, value in headers.items() if key not in self.headers and key not in VARYING_HEADERS}

    def send_after_publish(self, task_id: str) -> None:
        """Tell after_task_publish receivers (metrics) that a message was confirmed."""
        if signals.after_task_publish.receivers:
            signals.after_task_publish.send(
                sender=self.task.name,
                body=None,
                headers=self.headers_for(task_id, ""),
                exchange=self.task.name,
                routing_key=self.task.name,
            )
