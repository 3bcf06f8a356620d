"""A generated website on loopback for tests and the demo: articles, feeds, a cookie-login JSON API, bad endpoints.

``consumer-crawler-site --port 8765`` serves it until stopped. Articles are generated
deterministically (``--seed``) for the last ``--days`` days, ``--per-day`` a day; each
tracked keyword (``--keywords``) appears in an article with probability ``--rate``, and
on the last day ``--spike`` appears in every article, so the daily keyword counts have
a history and one clear crossing.

Routes (GET unless said otherwise):

- ``/robots.txt`` disallows ``/private/``; ``/`` lists the articles;
  ``/articles/<day>/<n>.html`` are the articles (with ``article:published_time``);
- ``/feed.xml`` (RSS 2.0), ``/atom.xml`` (Atom 1.0), ``/feed.json`` (JSON Feed 1.1), all
  newest first, ``?limit=N``; ``/feeds/mixed.xml`` has one good entry and entries that
  fail (robots, 404, a private address);
- ``POST /api/login`` (JSON or form ``username``/``password``) sets a ``session``
  cookie; ``/api/articles`` (listing) and ``/api/articles/<id>`` need it, else 401;
- ``/slow?seconds=S``, ``/flaky/<key>?fail=N&status=500`` (N failures, then a page),
  ``/ratelimited/<key>?fail=N&after=S`` (429 with Retry-After S), ``/big?bytes=N``
  (with Content-Length), ``/big-stream?bytes=N`` (without), ``/image.png``,
  ``/no-type``, ``/status/<code>``, ``/redirect/<n>`` (n hops, then a page),
  ``/redirect-to?url=U&status=302``, ``/charset/latin1.html``, ``/charset/koi8.html``
  (meta charset only), ``/charset/cp1251.html`` (no declaration),
  ``/charset/shift_jis.html``, ``/set-cookie`` and ``/echo-cookie``;
- any path put in :attr:`CrawlerTestSite.pages` is served from there first.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import html
import json
import random
import secrets
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

DEFAULT_KEYWORDS = ("rabbitmq", "celery", "python", "kubernetes", "postgresql", "redis", "docker", "kafka")
FILLER_TEXT = (
    "the team shipped a new release of the service today with faster startup and better logs "
    "engineers measured latency under load and found the queue kept up while workers scaled out "
    "operators can now roll back a deployment in seconds and the dashboard shows every step "
    "users asked for clearer errors so each failure now names the setting that caused it "
    "benchmarks ran on two cores with a local broker and the numbers are in the appendix"
)
FILLER = tuple(FILLER_TEXT.split())
PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
LATIN1_TEXT = "Café au lait, naïve façade - prix 5 € à Zürich"
RUSSIAN_TEXT = (
    "Съешь же ещё этих мягких французских булок, да выпей чаю. Широкая электрификация южных губерний "
    "даст мощный толчок подъёму сельского хозяйства. Новости о распределённых очередях сообщений."
)
JAPANESE_TEXT = "いろはにほへと ちりぬるを わかよたれそ つねならむ 分散タスクキューの記事です。"


@dataclass(frozen=True)
class Article:
    """One generated article."""

    id: int
    day: dt.date
    number: int
    published: dt.datetime
    title: str
    paragraphs: tuple[str, ...]
    keywords: tuple[str, ...]

    @property
    def path(self) -> str:
        """The article's path on the site."""
        return f"/articles/{self.day.isoformat()}/{self.number}.html"

    @property
    def text(self) -> str:
        """All paragraphs as one text."""
        return "\n\n".join(self.paragraphs)


def generate_articles(
    days: int,
    per_day: int,
    *,
    today: dt.date,
    keywords: Sequence[str] = DEFAULT_KEYWORDS,
    rate: float = 0.25,
    spike: str | None = None,
    seed: int = 7,
) -> list[Article]:
    """Articles for the ``days`` days up to ``today``; ``spike`` is in every article of ``today``."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    articles: list[Article] = []
    for offset in range(days - 1, -1, -1):
        day = today - dt.timedelta(days=offset)
        for number in range(per_day):
            mentioned = [keyword for keyword in keywords if rng.random() < rate]
            if spike and day == today and spike not in mentioned:
                mentioned.append(spike)
            paragraphs = []
            for index in range(3):
                words = [rng.choice(FILLER) for _ in range(30)]
                for keyword in mentioned[index::3]:
                    words.insert(rng.randrange(len(words)), keyword)
                paragraphs.append(" ".join(words).capitalize() + ".")
            topic = mentioned[0] if mentioned else rng.choice(FILLER)
            published = dt.datetime.combine(day, dt.time(8 + number % 10, (number * 7) % 60), tzinfo=dt.UTC)
            articles.append(
                Article(
                    id=len(articles) + 1,
                    day=day,
                    number=number,
                    published=published,
                    title=f"Notes on {topic} #{len(articles) + 1}",
                    paragraphs=tuple(paragraphs),
                    keywords=tuple(mentioned),
                )
            )
    return articles


def _html_page(title: str, body: str, *, head: str = "", charset: str | None = "utf-8") -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    return (
        f"<!doctype html><html><head>{meta}<title>{html.escape(title)}</title>{head}</head><body>{body}</body></html>"
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    site: CrawlerTestSite

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hangs up (the crawler abandons oversized bodies on purpose)."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
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


class CrawlerTestSite:
    """The generated site, served by a thread on ``host:port`` (port 0 picks a free one)."""

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
        robots: str = "User-agent: *\nDisallow: /private/\n",
    ) -> None:
        self.today = today or dt.datetime.now(dt.UTC).date()
        self.articles = generate_articles(
            days, per_day, today=self.today, keywords=keywords, rate=rate, spike=spike, seed=seed
        )
        self.api_user = api_user
        self.api_password = api_password
        self.robots = robots
        self.pages: dict[str, tuple[int, str, bytes]] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.sessions: set[str] = set()
        self.logins = 0
        self._counters: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = _Server((host, port), _Handler)
        self._server.site = self
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """http://host:port of the running site."""
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{name}:{port}"

    def url(self, path: str) -> str:
        """Absolute URL of a path on the site."""
        return f"{self.base_url}{path}"

    def start(self) -> CrawlerTestSite:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="crawler-test-site", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> CrawlerTestSite:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def expire_sessions(self) -> None:
        """Forget every API session (the next API call answers 401)."""
        with self._lock:
            self.sessions.clear()

    def article_by_path(self, path: str) -> Article | None:
        """The article served at ``path``."""
        return next((article for article in self.articles if article.path == path), None)

    # -- dispatch -----------------------------------------------------------------------------------

    def handle(self, request: _Handler, method: str) -> None:
        """Route one request."""
        parts = urlsplit(request.path)
        path = parts.path
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        body = b""
        length = int(request.headers.get("content-length") or 0)
        if length:
            body = request.rfile.read(length)
        with self._lock:
            self.hits[path] += 1
            self.requests.append((method, request.path, dict(request.headers.items())))
        if path in self.pages:
            status, content_type, content = self.pages[path]
            self._send(request, status, content_type, content, method=method)
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._route(request, method, path, query, body)

    def _route(self, request: _Handler, method: str, path: str, query: dict[str, str], body: bytes) -> None:
        routes = {
            "/robots.txt": self._robots,
            "/": self._index,
            "/feed.xml": self._rss,
            "/rss.xml": self._rss,
            "/atom.xml": self._atom,
            "/feed.json": self._json_feed,
            "/feeds/mixed.xml": self._mixed_feed,
            "/api/login": self._login,
            "/api/articles": self._api_listing,
            "/slow": self._slow,
            "/big": self._big,
            "/big-stream": self._big_stream,
            "/image.png": self._image,
            "/no-type": self._no_type,
            "/redirect-to": self._redirect_to,
            "/set-cookie": self._set_cookie,
            "/echo-cookie": self._echo_cookie,
            "/charset/latin1.html": self._latin1,
            "/charset/koi8.html": self._koi8,
            "/charset/cp1251.html": self._cp1251,
            "/charset/shift_jis.html": self._shift_jis,
        }
        handler = routes.get(path)
        if handler is not None:
            handler(request, method, path, query, body)
            return
        prefixes = {
            "/articles/": self._article,
            "/private/": self._private,
            "/api/articles/": self._api_item,
            "/flaky/": self._flaky,
            "/ratelimited/": self._rate_limited,
            "/status/": self._status,
            "/redirect/": self._redirect_chain,
        }
        for prefix, prefixed in prefixes.items():
            if path.startswith(prefix):
                prefixed(request, method, path, query, body)
                return
        self._send_html(request, 404, "Not found", f"<p>No page at {html.escape(path)}</p>", method=method)

    # -- responses ----------------------------------------------------------------------------------

    def _send(
        self,
        request: _Handler,
        status: int,
        content_type: str | None,
        content: bytes,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
    ) -> None:
        request.send_response(status)
        if content_type:
            request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(content)))
        for key, value in (headers or {}).items():
            request.send_header(key, value)
        request.end_headers()
        if method != "HEAD":
            request.wfile.write(content)

    def _send_html(self, request: _Handler, status: int, title: str, body: str, *, method: str = "GET") -> None:
        page = _html_page(title, f"<h1>{html.escape(title)}</h1>{body}")
        self._send(request, status, "text/html; charset=utf-8", page.encode(), method=method)

    def _send_json(self, request: _Handler, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._send(request, status, "application/json", json.dumps(data).encode(), headers=headers)

    def article_html(self, article: Article) -> str:
        """The HTML page of an article."""
        others = [other for other in self.articles if other.day == article.day and other.id != article.id][:3]
        links = "".join(f'<li><a href="{other.path}">{html.escape(other.title)}</a></li>' for other in others)
        paragraphs = "".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in article.paragraphs)
        head = f'<meta property="article:published_time" content="{article.published.isoformat()}">'
        body = (
            f'<nav><a href="/">Home</a></nav><article><h1>{html.escape(article.title)}</h1>'
            f'<time datetime="{article.published.isoformat()}">{article.day.isoformat()}</time>{paragraphs}'
            f"</article><aside><ul>{links}</ul></aside><script>var tracking = 'not text';</script>"
        )
        return _html_page(article.title, body, head=head)

    def _robots(self, request: _Handler, method: str, *_: Any) -> None:
        self._send(request, 200, "text/plain", self.robots.encode(), method=method)

    def _index(self, request: _Handler, method: str, *_: Any) -> None:
        items = "".join(f'<li><a href="{a.path}">{html.escape(a.title)}</a></li>' for a in self.articles)
        self._send_html(request, 200, "Generated news", f"<ul>{items}</ul>", method=method)

    def _article(self, request: _Handler, method: str, path: str, *_: Any) -> None:
        article = self.article_by_path(path)
        if article is None:
            self._send_html(request, 404, "Not found", "", method=method)
            return
        self._send(request, 200, "text/html; charset=utf-8", self.article_html(article).encode(), method=method)

    def _newest(self, query: dict[str, str]) -> list[Article]:
        limit = int(query.get("limit", "0") or 0)
        newest = sorted(self.articles, key=lambda article: article.published, reverse=True)
        return newest[:limit] if limit else newest

    def _rss(self, request: _Handler, method: str, path: str, query: dict[str, str], _body: bytes) -> None:
        items = "".join(
            f"<item><title>{escape(a.title)}</title><link>{escape(self.url(a.path))}</link>"
            f"<guid>{escape(self.url(a.path))}</guid><pubDate>{format_datetime(a.published)}</pubDate>"
            f"<description>{escape(a.paragraphs[0])}</description></item>"
            for a in self._newest(query)
        )
        feed = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Generated news</title>'
            f"<link>{escape(self.base_url)}/</link><description>Test feed</description>{items}</channel></rss>"
        )
        self._send(request, 200, "application/rss+xml; charset=utf-8", feed.encode(), method=method)

    def _atom(self, request: _Handler, method: str, path: str, query: dict[str, str], _body: bytes) -> None:
        entries = "".join(
            f'<entry><title>{escape(a.title)}</title><link href="{escape(self.url(a.path))}"/>'
            f"<id>{escape(self.url(a.path))}</id><published>{a.published.isoformat()}</published>"
            f"<updated>{a.published.isoformat()}</updated>"
            f'<content type="html">{escape("".join(f"<p>{p}</p>" for p in a.paragraphs))}</content></entry>'
            for a in self._newest(query)
        )
        updated = max(a.published for a in self.articles).isoformat()
        feed = (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Generated news (Atom)</title><id>{escape(self.base_url)}/</id><updated>{updated}</updated>"
            f"{entries}</feed>"
        )
        self._send(request, 200, "application/atom+xml", feed.encode(), method=method)

    def _json_feed(self, request: _Handler, method: str, path: str, query: dict[str, str], _body: bytes) -> None:
        feed = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Generated news (JSON)",
            "home_page_url": f"{self.base_url}/",
            "items": [
                {
                    "id": str(a.id),
                    "url": self.url(a.path),
                    "title": a.title,
                    "content_text": a.text,
                    "date_published": a.published.isoformat(),
                }
                for a in self._newest(query)
            ],
        }
        self._send(request, 200, "application/feed+json", json.dumps(feed).encode(), method=method)

    def _mixed_feed(self, request: _Handler, method: str, *_: Any) -> None:
        links = [
            self.url(self.articles[-1].path),
            self.url("/private/hidden.html"),
            self.url("/status/404"),
            "http://10.0.0.1/internal.html",
        ]
        items = "".join(
            f"<item><title>Entry {n}</title><link>{escape(link)}</link></item>" for n, link in enumerate(links)
        )
        feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Mixed</title>{items}</channel></rss>'
        self._send(request, 200, "application/rss+xml", feed.encode(), method=method)

    def _login(self, request: _Handler, method: str, path: str, query: dict[str, str], body: bytes) -> None:
        if method != "POST":
            self._send_json(request, 405, {"error": "POST your credentials"}, {"Allow": "POST"})
            return
        kind = (request.headers.get("content-type") or "").split(";")[0].strip()
        try:
            if kind == "application/json":
                credentials = json.loads(body or b"{}")
            else:
                credentials = {key: values[-1] for key, values in parse_qs(body.decode()).items()}
        except ValueError:
            credentials = {}
        if credentials.get("username") != self.api_user or credentials.get("password") != self.api_password:
            self._send_json(request, 401, {"error": "invalid credentials"})
            return
        token = secrets.token_hex(16)
        with self._lock:
            self.sessions.add(token)
            self.logins += 1
        cookie = f"session={token}; Path=/api; HttpOnly; SameSite=Lax"
        self._send_json(request, 200, {"ok": True}, {"Set-Cookie": cookie})

    def _authorised(self, request: _Handler) -> bool:
        for part in (request.headers.get("cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "session" and value in self.sessions:
                return True
        return False

    def api_item(self, article: Article) -> dict[str, Any]:
        """An article as the JSON API shows it."""
        return {
            "id": article.id,
            "url": self.url(article.path),
            "title": article.title,
            "text": article.text,
            "published_at": article.published.isoformat(),
            "links": [self.url(article.path)],
        }

    def _api_listing(self, request: _Handler, method: str, path: str, query: dict[str, str], _body: bytes) -> None:
        if not self._authorised(request):
            self._send_json(request, 401, {"error": "log in first"})
            return
        self._send_json(request, 200, {"items": [self.api_item(a) for a in self._newest(query)]})

    def _api_item(self, request: _Handler, method: str, path: str, *_: Any) -> None:
        if not self._authorised(request):
            self._send_json(request, 401, {"error": "log in first"})
            return
        key = path.rsplit("/", 1)[-1]
        article = next((a for a in self.articles if str(a.id) == key), None)
        if article is None:
            self._send_json(request, 404, {"error": "no such article"})
            return
        self._send_json(request, 200, self.api_item(article))

    def _private(self, request: _Handler, method: str, *_: Any) -> None:
        self._send_html(request, 200, "Private", "<p>robots.txt keeps crawlers out of here</p>", method=method)

    def _slow(self, request: _Handler, method: str, path: str, query: dict[str, str], _body: bytes) -> None:
        time.sleep(float(query.get("seconds", "5")))
        self._send_html(request, 200, "Slow page", "<p>finally</p>", method=method)

    def _count(self, key: str) -> int:
        with self._lock:
            self._counters[key] += 1
            return self._counters[key]

    def _flaky(self, request: _Handler, method: str, path: str, query: dict[str, str], _body: bytes) -> None:
        if self._count(path) <= int(query.get("fail", "2")):
            status = int(query.get("status", "500"))
            self._send_html(request, status, "Server error", "<p>try again</p>", method=method)
            return
        self._send_html(request, 200, "Recovered page", "<p>the server recovered</p>", method=method)

    def _rate_limited(self, request: _Handler, method: str, path: str, query: dict[str, str], _body: bytes) -> None:
        if self._count(path) <= int(query.get("fail", "1")):
            page = _html_page("Slow down", "<p>too many requests</p>").encode()
            headers = {"Retry-After": query.get("after", "1")}
            self._send(request, 429, "text/html; charset=utf-8", page, method=method, headers=headers)
            return
        self._send_html(request, 200, "Rate limit passed", "<p>thanks for waiting</p>", method=method)

    def _big(self, request: _Handler, method: str, path: str, query: dict[str, str], _body: bytes) -> None:
        size = int(query.get("bytes", str(10 * 1024 * 1024)))
        self._send(request, 200, "text/html", b"<p>" + b"x" * max(0, size - 3), method=method)

    def _big_stream(self, request: _Handler, method: str, path: str, query: dict[str, str], _body: bytes) -> None:
        size = int(query.get("bytes", str(10 * 1024 * 1024)))
        request.send_response(200)
        request.send_header("Content-Type", "text/html")
        request.send_header("Connection", "close")
        request.end_headers()
        request.close_connection = True
        chunk = b"y" * 65536
        sent = 0
        while sent < size:
            part = chunk[: size - sent]
            request.wfile.write(part)
            sent += len(part)

    def _image(self, request: _Handler, method: str, *_: Any) -> None:
        self._send(request, 200, "image/png", PNG_BYTES, method=method)

    def _no_type(self, request: _Handler, method: str, *_: Any) -> None:
        self._send(request, 200, None, b"<p>no content type</p>", method=method)

    def _status(self, request: _Handler, method: str, path: str, *_: Any) -> None:
        status = int(path.rsplit("/", 1)[-1])
        self._send_html(request, status, f"Status {status}", "<p>as requested</p>", method=method)

    def _redirect_chain(self, request: _Handler, method: str, path: str, *_: Any) -> None:
        hops = int(path.rsplit("/", 1)[-1])
        if hops <= 0:
            self._send_html(request, 200, "End of the redirects", "<p>you made it</p>", method=method)
            return
        self._send(request, 302, "text/plain", b"", method=method, headers={"Location": f"/redirect/{hops - 1}"})

    def _redirect_to(self, request: _Handler, method: str, path: str, query: dict[str, str], _body: bytes) -> None:
        status = int(query.get("status", "302"))
        self._send(request, status, "text/plain", b"", method=method, headers={"Location": query.get("url", "/")})

    def _set_cookie(self, request: _Handler, method: str, *_: Any) -> None:
        page = _html_page("Cookie", "<p>have a cookie</p>").encode()
        headers = {"Set-Cookie": "tracker=abc123; Path=/"}
        self._send(request, 200, "text/html; charset=utf-8", page, method=method, headers=headers)

    def _echo_cookie(self, request: _Handler, method: str, *_: Any) -> None:
        cookie = request.headers.get("cookie") or "none"
        self._send_html(request, 200, "Cookie echo", f"<p>cookie: {html.escape(cookie)}</p>", method=method)

    def _latin1(self, request: _Handler, method: str, *_: Any) -> None:
        page = _html_page("Latin-1 page", f"<p>{LATIN1_TEXT}</p>", charset=None)
        content = page.encode("cp1252")
        self._send(request, 200, "text/html; charset=ISO-8859-1", content, method=method)

    def _koi8(self, request: _Handler, method: str, *_: Any) -> None:
        page = _html_page("Страница KOI8-R", f"<p>{RUSSIAN_TEXT}</p>", charset="koi8-r")
        self._send(request, 200, "text/html", page.encode("koi8-r"), method=method)

    def _cp1251(self, request: _Handler, method: str, *_: Any) -> None:
        page = _html_page("Страница без кодировки", f"<p>{RUSSIAN_TEXT}</p>" * 3, charset=None)
        self._send(request, 200, "text/html", page.encode("cp1251"), method=method)

    def _shift_jis(self, request: _Handler, method: str, *_: Any) -> None:
        page = _html_page("日本語のページ", f"<p>{JAPANESE_TEXT}</p>", charset=None)
        self._send(request, 200, "text/html; charset=Shift_JIS", page.encode("shift_jis"), method=method)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the generated site until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="consumer-crawler-site", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--per-day", type=int, default=8)
    parser.add_argument("--keywords", default=",".join(DEFAULT_KEYWORDS), help="comma separated")
    parser.add_argument("--rate", type=float, default=0.25, help="chance a keyword is in an article")
    parser.add_argument("--spike", default="rabbitmq", help="keyword in every article of the last day ('' = none)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=None, help="last day, YYYY-MM-DD")
    options = parser.parse_args(argv)
    site = CrawlerTestSite(
        options.host,
        options.port,
        days=options.days,
        per_day=options.per_day,
        today=options.today,
        keywords=[keyword.strip() for keyword in options.keywords.split(",") if keyword.strip()],
        rate=options.rate,
        spike=options.spike or None,
        seed=options.seed,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    site.start()
    print(f"serving {len(site.articles)} articles at {site.base_url}/", flush=True)
    print(f"feeds: {site.url('/feed.xml')} {site.url('/atom.xml')} {site.url('/feed.json')}", flush=True)
    print(f"JSON API: POST {site.url('/api/login')} as {site.api_user}, then {site.url('/api/articles')}", flush=True)
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()
