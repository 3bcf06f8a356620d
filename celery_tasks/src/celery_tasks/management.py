"""A small client for the RabbitMQ management HTTP API (one session, timeouts, retries, clear errors)."""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from celery_tasks.errors import ManagementAPIError, ManagementAuthError, ManagementNotFound, ManagementUnreachable
from celery_tasks.settings import TaskSettings

HTTP_UNAUTHORIZED = 401
HTTP_NOT_FOUND = 404
HTTP_CLIENT_ERROR = 400


def _segment(value: str) -> str:
    """Quote one path segment (vhost '/' becomes '%2F')."""
    return quote(value, safe="")


class ManagementClient:
    """Talks to RabbitMQ's management API; credentials are never logged nor put in errors."""

    def __init__(self, url: str, user: str, password: str, *, timeout: float = 5.0, retries: int = 3) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.auth = (user, password)
        self.session.headers["content-type"] = "application/json"
        retry = Retry(total=retries, connect=retries, read=0, status=0, backoff_factor=0.3, allowed_methods=None)
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    @classmethod
    def from_settings(cls, settings: TaskSettings) -> ManagementClient:
        """A client for the management API named in the settings."""
        user, password = settings.management_credentials()
        return cls(settings.management_url, user, password)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request and return its decoded JSON (None when the body is empty)."""
        try:
            response = self.session.request(method, f"{self.url}/api/{path}", timeout=self.timeout, **kwargs)
        except requests.ConnectionError:
            raise ManagementUnreachable(f"RabbitMQ management API at {self.url} is unreachable") from None
        except requests.Timeout:
            raise ManagementUnreachable(f"RabbitMQ management API at {self.url} did not answer in time") from None
        if response.status_code == HTTP_UNAUTHORIZED:
            raise ManagementAuthError(f"RabbitMQ management API at {self.url} refused the credentials (401)")
        if response.status_code == HTTP_NOT_FOUND:
            raise ManagementNotFound(f"not found in RabbitMQ management API: {method} /api/{path}")
        if response.status_code >= HTTP_CLIENT_ERROR:
            raise ManagementAPIError(
                f"RabbitMQ management API: {method} /api/{path} answered {response.status_code}: {response.text[:300]}"
            )
        return response.json() if response.content else None

    def overview(self) -> dict[str, Any]:
        """Broker-wide totals: versions, message counts and rates."""
        result: dict[str, Any] = self.request("GET", "overview")
        return result

    def aliveness(self, vhost: str = "/") -> bool:
        """True when the broker can declare, publish to and consume from a test queue in the vhost."""
        try:
            status = self.request("GET", f"aliveness-test/{_segment(vhost)}")
        except ManagementAPIError:
            return False
        return bool(status and status.get("status") == "ok")

    def create_vhost(self, vhost: str) -> None:
        """Create a virtual host (no error if it exists)."""
        self.request("PUT", f"vhosts/{_segment(vhost)}")

    def delete_vhost(self, vhost: str) -> None:
        """Delete a virtual host and everything in it (no error if it is gone)."""
        with contextlib.suppress(ManagementNotFound):
            self.request("DELETE", f"vhosts/{_segment(vhost)}")

    def create_user(self, user: str, password: str, tags: str = "") -> None:
        """Create or update a broker user."""
        self.request("PUT", f"users/{_segment(user)}", json={"password": password, "tags": tags})

    def delete_user(self, user: str) -> None:
        """Delete a broker user (no error if it is gone)."""
        with contextlib.suppress(ManagementNotFound):
            self.request("DELETE", f"users/{_segment(user)}")

    def set_permissions(
        self, vhost: str, user: str, configure: str = ".*", write: str = ".*", read: str = ".*"
    ) -> None:
        """Grant a user configure, write and read permissions (regular expressions) on a vhost."""
        body = {"configure": configure, "write": write, "read": read}
        self.request("PUT", f"permissions/{_segment(vhost)}/{_segment(user)}", json=body)

    def queues(self, vhost: str) -> list[dict[str, Any]]:
        """Every queue of a vhost with its counts, consumers and rates."""
        result: list[dict[str, Any]] = self.request("GET", f"queues/{_segment(vhost)}")
        return result

    def queue(self, vhost: str, name: str) -> dict[str, Any]:
        """One queue with its counts, consumers and rates."""
        result: dict[str, Any] = self.request("GET", f"queues/{_segment(vhost)}/{_segment(name)}")
        return result

    def peek(self, vhost: str, queue: str, count: int = 100) -> list[dict[str, Any]]:
        """Read up to ``count`` messages and put them back (their redelivered flag is set)."""
        body = {"count": count, "ackmode": "ack_requeue_true", "encoding": "auto", "truncate": 50_000}
        result: list[dict[str, Any]] = self.request(
            "POST", f"queues/{_segment(vhost)}/{_segment(queue)}/get", json=body
        )
        return result

    def purge(self, vhost: str, queue: str) -> None:
        """Remove every ready message from a queue."""
        self.request("DELETE", f"queues/{_segment(vhost)}/{_segment(queue)}/contents")
