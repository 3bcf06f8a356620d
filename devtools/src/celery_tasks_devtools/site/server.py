"""The one fake news site, served by a thread on loopback: for the crawler's tests and for `producer demo`."""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from celery_tasks_devtools.site import routes_api, routes_news, routes_odd
from celery_tasks_devtools.site.articles import DEFAULT_KEYWORDS, Article, generate_articles
from celery_tasks_devtools.site.newsroom import DemoSite
from celery_tasks_devtools.site.state import ROBOTS_ALLOW_ALL, ROBOTS_DISALLOW_PRIVATE, Exchange, SiteState

ROUTES = {**routes_news.ROUTES, **routes_api.ROUTES, **routes_odd.ROUTES}
PREFIXES = {**routes_api.PREFIXES, **routes_news.PREFIXES, **routes_odd.PREFIXES}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    site: NewsSite

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hangs up (the crawler abandons oversized bodies on purpose)."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-news-site/1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the site records hits instead."""

    def do_GET(self) -> None:
        """Serve a GET."""
        self.server.site.handle(self, "GET")

    def do_POST(self) -> None:
        """Serve a POST."""
        self.server.site.handle(self, "POST")

    def do_HEAD(self) -> None:
        """Serve a HEAD like a GET without a body."""
        self.server.site.handle(self, "HEAD")


class NewsSite(SiteState):
    """Articles, feeds, a cookie-login JSON API and bad endpoints on ``host:port`` (port 0 picks a free one).

    Any path put in :attr:`pages` (status, content type, body) is served from there first.
    """

    def __init__(self, articles: Sequence[Article], host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        super().__init__(articles, **options)
        self._server = _Server((host, port), _Handler)
        self._server.site = self
        bound_host, bound_port = self._server.server_address[:2]
        name = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
        self.base_url = f"http://{name}:{bound_port}"
        self._thread: threading.Thread | None = None

    def start(self) -> NewsSite:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-news-site", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> NewsSite:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        """Record and route one request."""
        parts = urlsplit(request.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        length = int(request.headers.get("content-length") or 0)
        body = request.rfile.read(length) if length else b""
        with self.lock:
            self.hits[parts.path] += 1
            self.requests.append((method, request.path, dict(request.headers.items())))
        exchange = Exchange(request, method, parts.path, query, body)
        if parts.path in self.pages:
            exchange.send(*self.pages[parts.path])
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._route(exchange)

    def _route(self, exchange: Exchange) -> None:
        route = ROUTES.get(exchange.path)
        if route is None:
            route = next((r for prefix, r in PREFIXES.items() if exchange.path.startswith(prefix)), None)
        if route is None:
            exchange.send_html(404, "Not found", f"<p>No page at {html.escape(exchange.path)}</p>")
            return
        route(self, exchange)


class CrawlerTestSite(NewsSite):
    """The site with the crawler tests' articles: ``per_day`` a day, keywords at ``rate``, ``spike`` on the last day."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        days: int = 7,
        per_day: int = 3,
        today: dt.date | None = None,
        keywords: Sequence[str] = DEFAULT_KEYWORDS,
        rate: float = 0.25,
        spike: str | None = None,
        seed: int = 7,
        api_user: str = "crawler",
        api_password: str = "crawler-secret",  # noqa: S107 - the test site's own demo login
        robots: str = ROBOTS_DISALLOW_PRIVATE,
    ) -> None:
        today = today or dt.datetime.now(dt.UTC).date()
        articles = generate_articles(days, per_day, today=today, keywords=keywords, rate=rate, spike=spike, seed=seed)
        super().__init__(articles, host, port, today=today, robots=robots, api_user=api_user, api_password=api_password)


class SiteServer(NewsSite):
    """The site with the demo's newsroom (:func:`generate`), every path open to crawlers."""

    def __init__(self, site: DemoSite, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(
            site.articles, host, port, today=site.today, language=site.content.language, robots=ROBOTS_ALLOW_ALL
        )
        self.site = site

    def start(self) -> SiteServer:
        """Serve in a background thread."""
        super().start()
        return self

    @property
    def feed_urls(self) -> list[str]:
        """Absolute URLs of the section feeds the demo crawls."""
        return [self.url(path) for path in routes_news.feed_paths()]
