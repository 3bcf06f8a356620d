"""Connections only to checked addresses, and a cookie jar that keeps nothing (steps 1 and 4 of a fetch)."""

from __future__ import annotations

import http.cookiejar
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from consumer_crawler.addresses import AddressPolicy
from consumer_crawler.errors import ForbiddenAddress


class GuardedBackend(httpcore.SyncBackend):
    """A network backend that connects only to addresses the policy allows (checked at connect time)."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Resolve and check ``host``, then connect to a checked address (never re-resolved)."""
        addresses = self.policy.resolve(host, port)
        failure: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        """Unix sockets are never used by the crawler."""
        raise ForbiddenAddress(f"refusing to connect to the unix socket {path}")


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with its connection pool built on :class:`GuardedBackend` (no proxies)."""

    def __init__(self, policy: AddressPolicy, limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        previous = getattr(self, "_pool", None)
        if not isinstance(previous, httpcore.ConnectionPool):  # pragma: no cover - guards an httpx upgrade
            raise RuntimeError("httpx.HTTPTransport no longer keeps its pool in _pool; update GuardedTransport")
        previous.close()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )


class RefuseCookies(http.cookiejar.DefaultCookiePolicy):
    """The shared client stores no cookie, so a site's cookies never reach the next site.

    Sessions (the JSON API login) keep their own jar and pass it to HttpClient.fetch.
    """

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        """Refuse every cookie."""
        return False
