"""The pytest plugin (entry point ``pytest11``): broker, service and database fixtures for every package's tests.

Every test that uses ``task_settings`` gets its own RabbitMQ virtual host, created and
deleted through the management API, so tests never see each other's queues. The helpers
tests import are in :mod:`celery_tasks_devtools.testing`.
"""

from __future__ import annotations

from celery_tasks_devtools.databases import database_url, engine, mysql_url, postgres_url
from celery_tasks_devtools.fixtures import base_settings, management, start_service, task_settings, vhost

__all__ = [
    "base_settings",
    "database_url",
    "engine",
    "management",
    "mysql_url",
    "postgres_url",
    "start_service",
    "task_settings",
    "vhost",
]
