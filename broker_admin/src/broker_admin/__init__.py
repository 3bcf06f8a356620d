"""A small client for the RabbitMQ management HTTP API (no Celery, no service: ``requests`` only)."""

from broker_admin.client import ManagementClient
from broker_admin.errors import (
    BrokerAdminError,
    ManagementAPIError,
    ManagementAuthError,
    ManagementNotFound,
    ManagementUnreachable,
)
from broker_admin.http import ManagementSettings
from broker_admin.messages import message_body
from broker_admin.queues import ConsumerInfo, QueueStats
from broker_admin.secrets import scrub, split_credentials

__all__ = [
    "BrokerAdminError",
    "ConsumerInfo",
    "ManagementAPIError",
    "ManagementAuthError",
    "ManagementClient",
    "ManagementNotFound",
    "ManagementSettings",
    "ManagementUnreachable",
    "QueueStats",
    "message_body",
    "scrub",
    "split_credentials",
]
