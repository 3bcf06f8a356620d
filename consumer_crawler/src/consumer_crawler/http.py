"""The crawler's HTTP client: httpx with address checks, manual redirects, retries, limits and politeness.

Every request hop goes through the same steps:

1. the URL must be http(s) with a host; the host is resolved and every address is
   checked against the :class:`~consumer_crawler.addresses.AddressPolicy` (before any
   connection: a redirect to 169.254.169.254 never leaves the machine);
2. robots.txt of the origin must allow the URL (GET only, cached per origin);
3. the per-host politeness delay (or a larger robots.txt Crawl-delay, capped) is waited;
4. the request is sent; the socket connects to an address checked once more inside the
   transport, never to a second DNS answer;
5. connection errors, timeouts, 5xx and 429 are retried with exponential backoff and
   jitter; a Retry-After is honoured, and one longer than ``retry_after_max`` fails at once;
6. a redirect (301, 302, 303, 307, 308) starts the next hop, at most ``max_redirects``;
7. the content type must be one the caller reads, and the body is streamed and
   abandoned once it exceeds ``max_body_bytes`` or ``total_timeout``.
"""

from __future__ import annotations

import dataclasses
import email.utils
import http.cookiejar
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import httpcore
import httpx

from consumer_crawler.addresses import AddressPolicy
from consumer_crawler.charset import decode_body, header_charset, media_type
from consumer_crawler.errors import (
    BodyTooLarge,
    FetchFailed,
    ForbiddenAddress,
    RateLimited,
    ServerUnavailable,
    TooManyRedirects,
    UnsupportedContentType,
    UnsupportedURL,
)
from consumer_crawler.politeness import PolitenessGate
from consumer_crawler.robots import RobotsCache
from consumer_crawler.settings import CrawlerSettings

logger = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 507, 508, 509, 520, 521, 522, 523, 524})
ROBOTS_MAX_BYTES = 512 * 1024

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "application/feed+json",
        "application/json",
        "+xml",
        "+json",
    }
)
JSON_TYPES = frozenset({"application/json", "+json"})


def accepts(accepted: frozenset[str] | None, kind: str) -> bool:
    """Whether media type ``kind`` is in ``accepted`` (entries starting with '+' match a suffix)."""
    if accepted is None:
        return True
    return kind in accepted or any(item.startswith("+") and kind.endswith(item) for item in accepted)


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


class _RefuseCookies(http.cookiejar.DefaultCookiePolicy):
    """The shared client stores no cookie, so a site's cookies never reach the next site.

    Sessions (the JSON API login) keep their own jar and pass it to HttpClient.fetch.
    """

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        """Refuse every cookie."""
        return False


@dataclass(frozen=True)
class Fetched:
    """A final (non-redirect) response, its body read within the limits."""

    url: str
    status: int
    headers: httpx.Headers
    content: bytes
    redirects: tuple[str, ...] = ()
    elapsed: float = 0.0
    attempts: int = 1

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        """The Content-Type header ('' when absent)."""
        return str(self.headers.get("content-type", ""))

    @property
    def media_type(self) -> str:
        """The lowercase media type, without parameters."""
        return media_type(self.content_type)

    @property
    def declared_charset(self) -> str | None:
        """The charset parameter of the Content-Type header."""
        return header_charset(self.content_type)

    @cached_property
    def decoded(self) -> tuple[str, str]:
        """The body as text and the codec used (see :mod:`consumer_crawler.charset`)."""
        return decode_body(self.content, self.content_type)

    @property
    def text(self) -> str:
        """The body as text."""
        return self.decoded[0]

    @property
    def encoding(self) -> str:
        """The codec the body was decoded with."""
        return self.decoded[1]


@dataclass
class _Redirect:
    status: int
    location: str


@dataclass
class _Attempt:
    """How one request hop went: a result, or a reason to retry after a delay."""

    result: Fetched | _Redirect | None = None
    retry_after: float | None = None
    failure: str = ""
    status: int | None = None


class HttpClient:
    """Fetches URLs within the crawler's limits; one instance is shared by every thread of a process."""

    def __init__(
        self,
        settings: CrawlerSettings,
        *,
        gate: PolitenessGate | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.policy = AddressPolicy(settings.allow_loopback, settings.allow_private)
        self.gate = gate or PolitenessGate()
        self._sleep = sleep
        self._random = random.Random()  # noqa: S311 - jitter, not security
        self._random_lock = threading.Lock()
        limits = httpx.Limits(
            max_connections=settings.max_connections, max_keepalive_connections=min(20, settings.max_connections)
        )
        self.client = httpx.Client(
            transport=GuardedTransport(self.policy, limits),
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.connect_timeout,
            ),
            follow_redirects=False,
            trust_env=False,
            cookies=http.cookiejar.CookieJar(policy=_RefuseCookies()),
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
        )
        self.robots = RobotsCache(
            self._fetch_robots,
            settings.user_agent,
            ttl=settings.robots_ttl,
            failure_ttl=settings.robots_failure_ttl,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- public API -------------------------------------------------------------------------------

    def fetch(
        self,
        url: str,
        *,
        accept: frozenset[str] | None,
        method: str = "GET",
        data: Mapping[str, str] | None = None,
        json_body: Any = None,
        cookies: httpx.Cookies | None = None,
        check_robots: bool | None = None,
        max_bytes: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Fetched:
        """Fetch ``url`` following redirects; a 4xx/5xx final status is returned (5xx/429 after retries raise).

        ``cookies`` is a session jar: it is sent with and updated by every hop. ``accept``
        lists the media types read (None reads anything); any other type raises
        UnsupportedContentType before the body is read.
        """
        robots = self.settings.respect_robots if check_robots is None else check_robots
        current = url
        redirects: list[str] = []
        started = time.monotonic()
        for _hop in range(self.settings.max_redirects + 1):
            target = self._checked_url(current)
            if robots and method == "GET":
                self.robots.check(str(target))
            result = self._send(
                target,
                robots=robots and method == "GET",
                method=method,
                data=data,
                json_body=json_body,
                cookies=cookies,
                accept=accept,
                max_bytes=max_bytes or self.settings.max_body_bytes,
                headers=headers,
            )
            if isinstance(result, Fetched):
                return dataclasses.replace(result, redirects=tuple(redirects), elapsed=time.monotonic() - started)
            redirects.append(str(target))
            current = str(target.join(result.location))
            if result.status == 303 or (result.status in (301, 302) and method == "POST"):
                method, data, json_body = "GET", None, None
        raise TooManyRedirects(
            f"{url}: more than {self.settings.max_redirects} redirects (CRAWLER_MAX_REDIRECTS); "
            f"chain: {' -> '.join([*redirects, current])}"
        )

    # -- steps ------------------------------------------------------------------------------------

    def _checked_url(self, url: str) -> httpx.URL:
        """Step 1: an http(s) URL whose host resolves only to allowed addresses."""
        try:
            target = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise UnsupportedURL(f"invalid URL {url!r}: {exc}") from None
        if target.scheme not in ("http", "https"):
            raise UnsupportedURL(f"only http and https URLs are fetched, not {url!r}")
        if not target.host:
            raise UnsupportedURL(f"URL has no host: {url!r}")
        if target.userinfo:
            target = target.copy_with(username=None, password=None)
        self.policy.resolve(target.host, target.port or (443 if target.scheme == "https" else 80))
        return target

    def _delay_for(self, target: httpx.URL, robots: bool) -> float:
        delay = self.settings.politeness_delay
        if robots:
            asked = self.robots.crawl_delay(str(target))
            if asked:
                delay = max(delay, min(asked, self.settings.max_crawl_delay))
        return delay

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: half fixed, half random."""
        ceiling = min(self.settings.backoff_max, self.settings.backoff_base * (2.0**attempt))
        with self._random_lock:
            return ceiling / 2 + self._random.uniform(0, ceiling / 2)

    def _send(
        self,
        target: httpx.URL,
        *,
        robots: bool,
        method: str,
        data: Mapping[str, str] | None,
        json_body: Any,
        cookies: httpx.Cookies | None,
        accept: frozenset[str] | None,
        max_bytes: int,
        headers: Mapping[str, str] | None,
    ) -> Fetched | _Redirect:
        """Steps 3 to 7 for one hop, with the retries."""
        delay = self._delay_for(target, robots)
        retries = self.settings.retries
        attempt = 0
        while True:
            self.gate.wait(target.host, delay)
            outcome = self._attempt(target, method, data, json_body, cookies, accept, max_bytes, headers)
            if outcome.result is not None:
                if isinstance(outcome.result, Fetched):
                    return dataclasses.replace(outcome.result, attempts=attempt + 1)
                return outcome.result
            if outcome.retry_after is not None and outcome.retry_after > self.settings.retry_after_max:
                raise RateLimited(
                    f"{target}: HTTP {outcome.status} with Retry-After {outcome.retry_after:.0f} s, over the "
                    f"{self.settings.retry_after_max:.0f} s the crawler waits (CRAWLER_RETRY_AFTER_MAX)"
                )
            if attempt >= retries:
                tried = f"after {attempt + 1} attempt{'s' if attempt else ''}"
                if outcome.status == 429:
                    raise RateLimited(f"{target}: still HTTP 429 Too Many Requests {tried}")
                if outcome.status is not None:
                    raise ServerUnavailable(f"{target}: still HTTP {outcome.status} {tried}")
                raise FetchFailed(f"{target}: {outcome.failure} {tried}")
            pause = outcome.retry_after if outcome.retry_after is not None else self._backoff(attempt)
            logger.info("retrying %s in %.2f s (%s)", target, pause, outcome.failure)
            self._sleep(pause)
            attempt += 1

    def _attempt(
        self,
        target: httpx.URL,
        method: str,
        data: Mapping[str, str] | None,
        json_body: Any,
        cookies: httpx.Cookies | None,
        accept: frozenset[str] | None,
        max_bytes: int,
        headers: Mapping[str, str] | None,
    ) -> _Attempt:
        request = self.client.build_request(method, target, data=data, json=json_body, headers=headers)
        if cookies is not None:
            cookies.set_cookie_header(request)
        deadline = time.monotonic() + self.settings.total_timeout
        try:
            response = self.client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            return _Attempt(failure=f"{type(exc).__name__} ({exc or 'timed out'})")
        except httpx.TransportError as exc:
            return _Attempt(failure=f"{type(exc).__name__} ({exc})")
        try:
            if cookies is not None:
                cookies.extract_cookies(response)
            return self._read(target, response, accept, max_bytes, deadline)
        except httpx.TimeoutException as exc:
            return _Attempt(failure=f"{type(exc).__name__} while reading the body ({exc or 'timed out'})")
        except httpx.TransportError as exc:
            return _Attempt(failure=f"{type(exc).__name__} while reading the body ({exc})")
        except _Deadline:
            return _Attempt(failure=f"body not received within {self.settings.total_timeout} s")
        finally:
            response.close()

    def _read(
        self,
        target: httpx.URL,
        response: httpx.Response,
        accept: frozenset[str] | None,
        max_bytes: int,
        deadline: float,
    ) -> _Attempt:
        """Classify a response: retry, redirect, error status, or a body read within the limits."""
        status = response.status_code
        location = response.headers.get("location")
        if status in RETRY_STATUSES:
            retry_after = retry_after_seconds(response.headers.get("retry-after"))
            return _Attempt(retry_after=retry_after, failure=f"HTTP {status}", status=status)
        if status in REDIRECT_STATUSES and location:
            return _Attempt(result=_Redirect(status, location))
        if status >= 400:
            return _Attempt(result=Fetched(str(target), status, response.headers, b""))
        kind = media_type(response.headers.get("content-type"))
        if not accepts(accept, kind):
            raise UnsupportedContentType(
                f"{target}: content type {kind or '(none)'!r} is not read here "
                f"(expected one of {', '.join(sorted(accept or ()))})"
            )
        content = _read_limited(response, str(target), max_bytes, deadline)
        return _Attempt(result=Fetched(str(target), status, response.headers, content))

    def _fetch_robots(self, url: str) -> tuple[int, str]:
        """Fetch a robots.txt for the cache (any content type, at most 512 KiB kept)."""
        try:
            response = self.fetch(url, accept=None, check_robots=False, max_bytes=ROBOTS_MAX_BYTES)
        except BodyTooLarge:
            return 200, ""
        except TooManyRedirects:
            return 404, ""  # RFC 9309: more than five redirects -> unavailable -> no rules
        except ServerUnavailable as exc:
            logger.warning("robots.txt unavailable: %s", exc)
            return 503, ""
        return response.status, response.text if response.ok else ""


class _Deadline(Exception):
    """The whole-response deadline passed while reading a body."""


def _read_limited(response: httpx.Response, url: str, max_bytes: int, deadline: float) -> bytes:
    """Stream the body, abandoning it once it exceeds ``max_bytes`` or the deadline passes."""
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(
            f"{url}: Content-Length {int(declared)} bytes is over the limit of {max_bytes} bytes "
            "(CRAWLER_MAX_BODY_BYTES); nothing was read"
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(
                f"{url}: body is over the limit of {max_bytes} bytes (CRAWLER_MAX_BODY_BYTES); reading stopped"
            )
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise _Deadline
    return b"".join(chunks)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds a Retry-After header asks to wait (delta-seconds or an HTTP date), None when absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())
