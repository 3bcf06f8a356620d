"""The helpers tests import, in one place: processes, free ports, broker waits, the in-process worker."""

from __future__ import annotations

from celery_tasks_devtools.broker import peek_headers, queue_depth, settings_env, wait_for_consumers, wait_for_parked
from celery_tasks_devtools.ports import free_port, free_ports
from celery_tasks_devtools.processes import ServiceGroup, ServiceProcess, entry_point, stop_together
from celery_tasks_devtools.proctree import group_alive
from celery_tasks_devtools.workers import (
    IN_PROCESS_START_TIMEOUT,
    IN_PROCESS_STOP_TIMEOUT,
    BoundedWorkController,
    in_process_worker,
)

__all__ = [
    "IN_PROCESS_START_TIMEOUT",
    "IN_PROCESS_STOP_TIMEOUT",
    "BoundedWorkController",
    "ServiceGroup",
    "ServiceProcess",
    "entry_point",
    "free_port",
    "free_ports",
    "group_alive",
    "in_process_worker",
    "peek_headers",
    "queue_depth",
    "settings_env",
    "stop_together",
    "wait_for_consumers",
    "wait_for_parked",
]
