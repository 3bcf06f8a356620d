"""Structured logs: with ``CELERY_TASKS_LOG_FORMAT=json`` every log line of a service is one JSON object.

Fields: ``time`` (UTC, ISO 8601), ``level``, ``service``, ``logger``, ``message``; inside a
task (or on Celery's per-task lines) ``task_id``, ``contract`` and ``contract_version``; with
tracing on, ``trace_id`` and ``span_id`` of the current span; ``exception`` for a traceback.
Celery's own lines are included: its logging set-up signals put the same formatter on its
handlers, ``--quiet`` leaves out the start-up banner (printed, not logged), and the shutdown
notices Celery prints from its signal handlers are written as JSON lines too. Any
``scheme://user:password@`` in a message or traceback is masked, as a last guard.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from typing import Any

from celery import signals

from celery_tasks.runtime import tracing
from celery_tasks.runtime.upstream.worker import current_task, replace_worker_say

#: A password inside a URL: ``scheme://user:secret@`` becomes ``scheme://user:***@``.
URL_PASSWORD = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)(?!\*+@)[^\s@/]+@")  # masked ones stay

_service = "celery-tasks"


def redact(text: str) -> str:
    """The text with any password inside a URL masked."""
    return URL_PASSWORD.sub(r"\1***@", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the task and trace context when there is one."""

    def __init__(self, service: str | None = None) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service or _service,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        entry.update(_task_fields(record))
        ids = tracing.current_ids()
        if ids is not None:
            entry["trace_id"], entry["span_id"] = ids
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def _task_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Task id, contract name and version of the running task, else of Celery's per-task line."""
    task = current_task()
    request = getattr(task, "request", None) if task is not None else None
    task_id = getattr(request, "id", None)
    if task is not None and task_id:
        return {"task_id": task_id, "contract": task.name, "contract_version": getattr(task, "version", None)}
    data = getattr(record, "data", None)  # Celery's "received", "succeeded", "raised" lines carry it
    if isinstance(data, dict) and data.get("id"):
        return {"task_id": str(data["id"]), "contract": str(data.get("name", ""))}
    return {}


def _use_json(logger: logging.Logger | None = None, **_: Any) -> None:
    """Put the JSON formatter on every handler of a logger Celery has just set up."""
    for handler in (logger or logging.getLogger()).handlers:
        handler.setFormatter(JsonFormatter())


def say_as_json(message: str, file: Any = None) -> None:
    """Celery's ``safe_say`` (shutdown notices written from signal handlers) as a JSON line, without logging's locks."""
    entry = {
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "level": "WARNING",
        "service": _service,
        "logger": "celery.apps.worker",
        "message": redact(str(message)),
    }
    stream = file or sys.__stderr__
    if stream is not None:
        stream.write(json.dumps(entry, ensure_ascii=False) + "\n")
        stream.flush()


def configure(service: str, log_format: str) -> None:
    """Set the log format: ``json`` takes over the root logger and Celery's loggers; ``text`` changes nothing."""
    global _service  # noqa: PLW0603 - one service name per process
    _service = service
    if log_format != "json":
        return
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    if root.level == logging.WARNING:
        root.setLevel(logging.INFO)
    _use_json(root)
    logging.captureWarnings(True)
    replace_worker_say(say_as_json)  # "worker: Warm shutdown (MainProcess)" and the like
    signals.after_setup_logger.connect(_use_json, weak=False, dispatch_uid="celery_tasks.logs.root")
    signals.after_setup_task_logger.connect(_use_json, weak=False, dispatch_uid="celery_tasks.logs.task")
