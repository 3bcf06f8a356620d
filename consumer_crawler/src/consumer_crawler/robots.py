"""robots.txt rules per origin, fetched once and cached (RFC 9309).

A robots.txt answered with 2xx is parsed with :mod:`urllib.robotparser`; any 4xx means
no rules (everything allowed); a 5xx or an unreachable server means everything is
disallowed for ``CRAWLER_ROBOTS_FAILURE_TTL`` seconds. A refused address is never
cached: the error propagates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from consumer_crawler.errors import FetchFailed, ForbiddenAddress, RobotsDisallowed

#: Fetch robots.txt: returns (status, text); raises FetchFailed when unreachable.
RobotsFetcher = Callable[[str], tuple[int, str]]


@dataclass(frozen=True)
class Rules:
    """One origin's robots.txt: parsed rules, or a blanket verdict (everything allowed or disallowed)."""

    parser: RobotFileParser | None
    allow_all: bool = False

    def can_fetch(self, user_agent: str, url: str) -> bool:
        """Whether ``user_agent`` may fetch ``url``."""
        if self.parser is None:
            return self.allow_all
        return self.parser.can_fetch(user_agent, url)

    def crawl_delay(self, user_agent: str) -> float | None:
        """The Crawl-delay for ``user_agent``, if any."""
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(user_agent)
        return float(delay) if delay is not None else None


@dataclass(frozen=True)
class _Entry:
    rules: Rules
    expires: float


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), "", "", ""))


class RobotsCache:
    """Cached robots.txt rules, one fetch per origin even when many threads ask at once."""

    def __init__(
        self,
        fetch: RobotsFetcher,
        user_agent: str,
        ttl: float = 3600.0,
        failure_ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.user_agent = user_agent
        self._ttl = ttl
        self._failure_ttl = failure_ttl
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def rules(self, url: str) -> Rules:
        """The robots.txt rules of the URL's origin."""
        origin = origin_of(url)
        entry = self._entries.get(origin)
        if entry is not None and entry.expires > self._clock():
            return entry.rules
        with self._guard:
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:
            entry = self._entries.get(origin)
            if entry is not None and entry.expires > self._clock():
                return entry.rules
            rules, ttl = self._load(origin)
            self._entries[origin] = _Entry(rules, self._clock() + ttl)
            return rules

    def _load(self, origin: str) -> tuple[Rules, float]:
        try:
            status, text = self._fetch(f"{origin}/robots.txt")
        except ForbiddenAddress:
            raise
        except FetchFailed:
            return Rules(None, allow_all=False), self._failure_ttl
        if 200 <= status < 300:
            parser = RobotFileParser(f"{origin}/robots.txt")
            parser.parse(text.splitlines())
            parser.modified()
            return Rules(parser), self._ttl
        if 400 <= status < 500:
            return Rules(None, allow_all=True), self._ttl
        return Rules(None, allow_all=False), self._failure_ttl

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets the crawler fetch ``url``."""
        return self.rules(url).can_fetch(self.user_agent, url)

    def check(self, url: str) -> None:
        """Raise RobotsDisallowed when robots.txt forbids ``url``."""
        if not self.allowed(url):
            agent = self.user_agent.split("/", 1)[0]
            raise RobotsDisallowed(f"robots.txt of {origin_of(url)} disallows {url} for {agent}")

    def crawl_delay(self, url: str) -> float | None:
        """The Crawl-delay robots.txt asks of this crawler, if any."""
        return self.rules(url).crawl_delay(self.user_agent)
