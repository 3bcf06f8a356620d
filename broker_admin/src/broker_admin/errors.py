"""Every exception raised by broker_admin, under one root class."""

from __future__ import annotations


class BrokerAdminError(Exception):
    """Root of every error raised by broker_admin."""


class ManagementAPIError(BrokerAdminError):
    """Raised when the RabbitMQ management HTTP API answers with an error."""


class ManagementAuthError(ManagementAPIError):
    """Raised when the management API refuses the credentials (HTTP 401)."""


class ManagementNotFound(ManagementAPIError):
    """Raised when the management API has no such object (HTTP 404)."""


class ManagementUnreachable(ManagementAPIError):
    """Raised when the management API cannot be reached at all."""
