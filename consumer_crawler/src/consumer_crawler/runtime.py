"""What a crawler process shares between its tasks: settings, HTTP client, politeness, robots, store, session.

One runtime per process, created on the first task (after a prefork child is forked,
never inherited across a fork). With the threads pool, all threads share it: one
connection pool, one politeness gate, one robots.txt cache and one API session.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from consumer_crawler.crawlers.base import CrawlContext
from consumer_crawler.http import HttpClient
from consumer_crawler.session import ApiSession
from consumer_crawler.settings import CrawlerSettings, load_crawler_settings
from consumer_crawler.store import DocumentStore, crawler_engine

logger = logging.getLogger(__name__)


@dataclass
class CrawlerRuntime:
    """The crawler's shared objects."""

    settings: CrawlerSettings
    http: HttpClient
    store: DocumentStore
    session: ApiSession

    @classmethod
    def create(cls, settings: CrawlerSettings | None = None, database_url: str | None = None) -> CrawlerRuntime:
        """Build the runtime from settings (the environment by default) and a database URL."""
        settings = settings or load_crawler_settings()
        http = HttpClient(settings)
        store = DocumentStore(crawler_engine(database_url))
        return cls(settings=settings, http=http, store=store, session=ApiSession(http, settings))

    @property
    def context(self) -> CrawlContext:
        """The context crawlers are built with."""
        return CrawlContext(http=self.http, store=self.store)

    def close(self) -> None:
        """Close the connection pools."""
        self.http.close()
        self.store.engine.dispose()


_lock = threading.Lock()
_runtime: CrawlerRuntime | None = None
_pid: int | None = None


def get_runtime() -> CrawlerRuntime:
    """This process's runtime, created on first use."""
    global _runtime, _pid  # noqa: PLW0603 - one runtime per process, by design
    with _lock:
        if _runtime is None or _pid != os.getpid():
            _runtime = CrawlerRuntime.create()
            _pid = os.getpid()
            logger.info(
                "crawler runtime ready: loopback %s, private %s, politeness %.2f s, robots %s",
                _runtime.settings.allow_loopback,
                _runtime.settings.allow_private,
                _runtime.settings.politeness_delay,
                _runtime.settings.respect_robots,
            )
        return _runtime


def close_runtime(**_: Any) -> None:
    """Close this process's runtime (worker shutdown)."""
    global _runtime  # noqa: PLW0603
    with _lock:
        if _runtime is not None and _pid == os.getpid():
            _runtime.close()
        _runtime = None


def init_storage(**_: Any) -> None:
    """Create the shared tables (worker start); checks the crawler settings at the same time."""
    load_crawler_settings()
    engine = crawler_engine()
    try:
        DocumentStore(engine).create_schema()
    finally:
        engine.dispose()
