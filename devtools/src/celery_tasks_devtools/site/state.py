"""What the running site knows and records (articles, sessions, hits), and one request being answered."""

from __future__ import annotations

import datetime as dt
import html
import json
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from celery_tasks_devtools.site.articles import Article
from celery_tasks_devtools.site.render import html_page

ROBOTS_DISALLOW_PRIVATE = "User-agent: *\nDisallow: /private/\n"
ROBOTS_ALLOW_ALL = "User-agent: *\nAllow: /\n"


class SiteState:
    """The site's content and what it has seen; shared by the request threads under one lock."""

    def __init__(
        self,
        articles: Sequence[Article],
        *,
        today: dt.date | None = None,
        language: str = "en",
        robots: str = ROBOTS_DISALLOW_PRIVATE,
        api_user: str = "crawler",
        api_password: str = "crawler-secret",  # noqa: S107 - the test site's own demo login
    ) -> None:
        self.articles = list(articles)
        self.today = today or dt.datetime.now(dt.UTC).date()
        self.language = language
        self.robots = robots
        self.api_user = api_user
        self.api_password = api_password
        self.base_url = ""
        self.pages: dict[str, tuple[int, str, bytes]] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.sessions: set[str] = set()
        self.logins = 0
        self._counters: Counter[str] = Counter()
        self.lock = threading.Lock()

    def url(self, path: str) -> str:
        """Absolute URL of a path on the site."""
        return f"{self.base_url}{path}"

    def article_by_path(self, path: str) -> Article | None:
        """The article served at ``path``."""
        return next((article for article in self.articles if article.path == path), None)

    def related(self, article: Article) -> list[Article]:
        """Up to three other articles of the same day."""
        return [other for other in self.articles if other.day == article.day and other.id != article.id][:3]

    def expire_sessions(self) -> None:
        """Forget every API session (the next API call answers 401)."""
        with self.lock:
            self.sessions.clear()

    def count(self, key: str) -> int:
        """Increment and return a per-key request counter (flaky and rate-limited pages)."""
        with self.lock:
            self._counters[key] += 1
            return self._counters[key]


@dataclass
class Exchange:
    """One request and the means to answer it."""

    handler: BaseHTTPRequestHandler
    method: str
    path: str
    query: dict[str, str]
    body: bytes

    def send(
        self, status: int, content_type: str | None, content: bytes, headers: dict[str, str] | None = None
    ) -> None:
        """Answer with a body (none for HEAD) and its Content-Length."""
        request = self.handler
        request.send_response(status)
        if content_type:
            request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(content)))
        for key, value in (headers or {}).items():
            request.send_header(key, value)
        request.end_headers()
        if self.method != "HEAD":
            request.wfile.write(content)

    def send_html(self, status: int, title: str, body: str) -> None:
        """Answer with a small HTML page."""
        page = html_page(title, f"<h1>{html.escape(title)}</h1>{body}")
        self.send(status, "text/html; charset=utf-8", page.encode())

    def send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        """Answer with JSON."""
        self.send(status, "application/json", json.dumps(data).encode(), headers)
