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

The checked connections (step 4) are in :mod:`consumer_crawler.transport`, the reading of a
response (steps 5 to 7) in :mod:`consumer_crawler.responses`; this module runs the hops.
"""

from __future__ import annotations

import dataclasses
import http.cookiejar
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from consumer_crawler.addresses import AddressPolicy
from consumer_crawler.errors import (
    BodyTooLarge,
    FetchFailed,
    RateLimited,
    ServerUnavailable,
    TooManyRedirects,
    UnsupportedURL,
)
from consumer_crawler.politeness import PolitenessGate
from consumer_crawler.responses import Attempt, BodyDeadline, Fetched, Redirect, classify
from consumer_crawler.robots import RobotsCache
from consumer_crawler.settings import CrawlerSettings
from consumer_crawler.transport import GuardedTransport, RefuseCookies

logger = logging.getLogger(__name__)

ROBOTS_MAX_BYTES = 512 * 1024


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
            cookies=http.cookiejar.CookieJar(policy=RefuseCookies()),
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
    ) -> Fetched | Redirect:
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
    ) -> Attempt:
        request = self.client.build_request(method, target, data=data, json=json_body, headers=headers)
        if cookies is not None:
            cookies.set_cookie_header(request)
        deadline = time.monotonic() + self.settings.total_timeout
        try:
            response = self.client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            return Attempt(failure=f"{type(exc).__name__} ({exc or 'timed out'})")
        except httpx.TransportError as exc:
            return Attempt(failure=f"{type(exc).__name__} ({exc})")
        try:
            if cookies is not None:
                cookies.extract_cookies(response)
            return classify(target, response, accept, max_bytes, deadline)
        except httpx.TimeoutException as exc:
            return Attempt(failure=f"{type(exc).__name__} while reading the body ({exc or 'timed out'})")
        except httpx.TransportError as exc:
            return Attempt(failure=f"{type(exc).__name__} while reading the body ({exc})")
        except BodyDeadline:
            return Attempt(failure=f"body not received within {self.settings.total_timeout} s")
        finally:
            response.close()

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
