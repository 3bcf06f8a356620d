"""A local website of N article pages on loopback, with an optional delay per response (network latency).

``python benchmarks/crawl_site.py --port 8799 --pages 2000 --latency 0.05`` serves
``/articles/<n>.html`` (about 6 KiB of HTML each, with ``article:published_time``),
``/robots.txt`` and ``/`` (the list of pages), until it is stopped. Pages are generated
deterministically, so every run crawls the same bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import random
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = (  # noqa: SIM905 - a sentence reads better than a list
    "the team shipped a new release of the service today with faster startup and better logs engineers "
    "measured latency under load and found the queue kept up while workers scaled out operators can now "
    "roll back a deployment in seconds rabbitmq celery python kubernetes postgresql redis docker kafka"
).split()
DAY = dt.date(2026, 11, 1)


def article(number: int) -> bytes:
    """One article page: title, publication time, ~900 words, a few links."""
    rng = random.Random(number)
    day = DAY - dt.timedelta(days=number % 28)
    paragraphs = "\n".join(f"<p>{' '.join(rng.choices(WORDS, k=90))}</p>" for _ in range(10))
    links = "".join(f'<a href="/articles/{rng.randrange(10_000)}.html">more</a> ' for _ in range(5))
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Article {number}: {' '.join(rng.choices(WORDS, k=6))}</title>"
        f"<meta property='article:published_time' content='{day.isoformat()}T08:00:00Z'></head>"
        f"<body><article><h1>Article {number}</h1>{paragraphs}</article><nav>{links}</nav></body></html>"
    )
    return page.encode()


class Handler(BaseHTTPRequestHandler):
    """Serves the pages, after the configured latency."""

    pages = 2000
    latency = 0.0
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        """Answer one GET."""
        if self.latency:
            time.sleep(self.latency)
        path = self.path.split("?", 1)[0]
        if path == "/robots.txt":
            self._send(b"User-agent: *\nDisallow: /private/\n", "text/plain")
        elif path.startswith("/articles/") and path.endswith(".html"):
            try:
                number = int(path[len("/articles/") : -len(".html")])
            except ValueError:
                number = -1
            if 0 <= number < self.pages:
                self._send(article(number), "text/html; charset=utf-8")
            else:
                self._send(b"not found", "text/plain", status=404)
        elif path == "/":
            body = "".join(f'<a href="/articles/{n}.html">{n}</a>\n' for n in range(self.pages))
            self._send(f"<html><body>{body}</body></html>".encode(), "text/html")
        else:
            self._send(b"not found", "text/plain", status=404)

    def _send(self, body: bytes, content_type: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: no line per request."""


def main() -> None:
    """Serve until stopped."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds of delay before each response")
    args = parser.parse_args()
    Handler.pages, Handler.latency = args.pages, args.latency
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"serving {args.pages} pages on http://{args.host}:{args.port}/", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
