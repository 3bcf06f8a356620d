"""The JSON API's cookie session: log in once per process, again when the session expires."""

from __future__ import annotations

import logging
import threading

import httpx

from consumer_crawler.errors import CrawlerError, LoginFailed
from consumer_crawler.http import HttpClient
from consumer_crawler.settings import CrawlerSettings

logger = logging.getLogger(__name__)


class ApiSession:
    """A cookie jar filled by POSTing the configured credentials to ``CRAWLER_API_LOGIN_URL``.

    The credentials go as JSON (``{"username": ..., "password": ...}``, field names
    configurable) or as a form (``CRAWLER_API_LOGIN_FORMAT=form``). The login must answer
    2xx and set at least one cookie. Threads share the session; when a request is
    refused with 401 or 403, :meth:`refresh` logs in again, once for all threads that saw
    the same expired session. Without a login URL the session is empty and never logs in.
    """

    def __init__(self, http: HttpClient, settings: CrawlerSettings) -> None:
        self.http = http
        self.settings = settings
        self.cookies = httpx.Cookies()
        self.generation = 0
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        """Whether a login URL is configured."""
        return self.settings.api_login_url is not None

    def ensure(self) -> int:
        """Log in unless already logged in; returns the session generation."""
        if self.configured and self.generation == 0:
            self.refresh(0)
        return self.generation

    def refresh(self, seen: int) -> int:
        """Log in again unless another thread already replaced session ``seen``; returns the new generation."""
        with self._lock:
            if self.generation != seen:
                return self.generation
            self._login()
            self.generation += 1
            return self.generation

    def _login(self) -> None:
        settings = self.settings
        url = settings.api_login_url
        if url is None:
            raise LoginFailed("no JSON API login is configured (CRAWLER_API_LOGIN_URL)")
        password = settings.api_password.get_secret_value() if settings.api_password else ""
        credentials = {settings.api_user_field: settings.api_user or "", settings.api_password_field: password}
        jar = httpx.Cookies()
        try:
            response = self.http.fetch(
                url,
                accept=None,
                method="POST",
                data=credentials if settings.api_login_format == "form" else None,
                json_body=credentials if settings.api_login_format == "json" else None,
                cookies=jar,
                check_robots=False,
            )
        except CrawlerError as exc:
            raise LoginFailed(f"login at {url} failed: {exc}") from None
        if not response.ok:
            raise LoginFailed(f"login at {url} refused for user {settings.api_user!r}: HTTP {response.status}")
        if not list(jar.jar):
            raise LoginFailed(f"login at {url} answered HTTP {response.status} but set no session cookie")
        self.cookies = jar
        logger.info("logged in at %s as %s", url, settings.api_user)
