"""The management API session: one ``requests`` session, timeouts, retries, clear errors.

Credentials are only ever held in the session's auth: they are stripped from the URL,
never logged, and scrubbed from every error message (a 4xx body can echo a request).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Protocol, Self
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from broker_admin.errors import ManagementAPIError, ManagementAuthError, ManagementNotFound, ManagementUnreachable
from broker_admin.secrets import scrub, split_credentials

logger = logging.getLogger(__name__)

HTTP_UNAUTHORIZED = 401
HTTP_NOT_FOUND = 404
HTTP_CLIENT_ERROR = 400
MAX_ERROR_BODY = 300


def segment(value: str) -> str:
    """Quote one path segment (vhost '/' becomes '%2F')."""
    return quote(value, safe="")


class ManagementSettings(Protocol):
    """Settings that name a management API (celery_tasks' TaskSettings is one)."""

    @property
    def management_url(self) -> str:
        """The management API's base URL."""
        ...

    def management_credentials(self) -> tuple[str, str]:
        """The management user and password."""
        ...


class ManagementSession:
    """Talks to RabbitMQ's management API; credentials are never logged nor put in errors."""

    def __init__(
        self, url: str, user: str | None = None, password: str | None = None, *, timeout: float = 5.0, retries: int = 3
    ) -> None:
        clean, url_user, url_password = split_credentials(url)
        self.url = clean
        self.timeout = timeout
        self.session = requests.Session()
        self.user = user if user is not None else (url_user or "guest")
        self._secrets = tuple(s for s in (password, url_password) if s)
        self.session.auth = (self.user, password if password is not None else (url_password or "guest"))
        self.session.headers["content-type"] = "application/json"
        # Connection errors are retried for every method (the request never reached the broker);
        # read errors and error statuses are not, because the broker may have acted on them.
        retry = Retry(total=retries, connect=retries, read=0, status=0, backoff_factor=0.3, allowed_methods=None)
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, user={self.user!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the session's pooled connections."""
        self.session.close()

    @classmethod
    def from_settings(cls, settings: ManagementSettings, *, timeout: float = 5.0, retries: int = 3) -> Self:
        """A client for the management API named in the settings."""
        user, password = settings.management_credentials()
        return cls(settings.management_url, user, password, timeout=timeout, retries=retries)

    def request(self, method: str, path: str, *, secrets: Iterable[str] = (), **kwargs: Any) -> Any:
        """Send one request and return its decoded JSON (None when the body is empty).

        ``secrets`` names values of this request (a new user's password) to scrub from errors.
        """
        try:
            response = self.session.request(method, f"{self.url}/api/{path}", timeout=self.timeout, **kwargs)
        except requests.Timeout:
            raise ManagementUnreachable(
                f"RabbitMQ management API at {self.url} did not answer {method} /api/{path} within {self.timeout} s"
            ) from None
        except requests.ConnectionError:
            raise ManagementUnreachable(
                f"RabbitMQ management API at {self.url} is unreachable (is RabbitMQ running with the "
                "management plugin? check CELERY_TASKS_MANAGEMENT_URL)"
            ) from None
        logger.debug("%s /api/%s -> %s", method, path, response.status_code)
        if response.status_code == HTTP_UNAUTHORIZED:
            raise ManagementAuthError(
                f"RabbitMQ management API at {self.url} refused the credentials of user {self.user!r} (401); "
                "check CELERY_TASKS_MANAGEMENT_USER / CELERY_TASKS_MANAGEMENT_PASSWORD and the user's tags"
            )
        if response.status_code == HTTP_NOT_FOUND:
            raise ManagementNotFound(f"not found in RabbitMQ management API: {method} /api/{path}")
        if response.status_code >= HTTP_CLIENT_ERROR:
            body = scrub(response.text[:MAX_ERROR_BODY], (*self._secrets, *secrets))
            raise ManagementAPIError(
                f"RabbitMQ management API: {method} /api/{path} answered {response.status_code}: {body}"
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ManagementAPIError(f"RabbitMQ management API: {method} /api/{path} did not answer JSON") from None
