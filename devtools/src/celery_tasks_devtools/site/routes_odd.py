"""Pages that test a crawler's edges: slow, flaky, rate-limited, big, typeless, redirects, cookies, charsets."""

from __future__ import annotations

import html
import time
from collections.abc import Callable

from celery_tasks_devtools.site.render import html_page
from celery_tasks_devtools.site.state import Exchange, SiteState

Route = Callable[[SiteState, Exchange], None]
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
TEN_MIB = str(10 * 1024 * 1024)


def slow(site: SiteState, exchange: Exchange) -> None:
    """``/slow?seconds=S``: answer after S seconds."""
    time.sleep(float(exchange.query.get("seconds", "5")))
    exchange.send_html(200, "Slow page", "<p>finally</p>")


def flaky(site: SiteState, exchange: Exchange) -> None:
    """``/flaky/<key>?fail=N&status=500``: N failures, then a page."""
    if site.count(exchange.path) <= int(exchange.query.get("fail", "2")):
        exchange.send_html(int(exchange.query.get("status", "500")), "Server error", "<p>try again</p>")
        return
    exchange.send_html(200, "Recovered page", "<p>the server recovered</p>")


def rate_limited(site: SiteState, exchange: Exchange) -> None:
    """``/ratelimited/<key>?fail=N&after=S``: N answers 429 with Retry-After S, then a page."""
    if site.count(exchange.path) <= int(exchange.query.get("fail", "1")):
        page = html_page("Slow down", "<p>too many requests</p>").encode()
        exchange.send(429, "text/html; charset=utf-8", page, {"Retry-After": exchange.query.get("after", "1")})
        return
    exchange.send_html(200, "Rate limit passed", "<p>thanks for waiting</p>")


def big(site: SiteState, exchange: Exchange) -> None:
    """``/big?bytes=N``: a large body with its Content-Length."""
    size = int(exchange.query.get("bytes", TEN_MIB))
    exchange.send(200, "text/html", b"<p>" + b"x" * max(0, size - 3))


def big_stream(site: SiteState, exchange: Exchange) -> None:
    """``/big-stream?bytes=N``: a large body without Content-Length."""
    size = int(exchange.query.get("bytes", TEN_MIB))
    request = exchange.handler
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


def image(site: SiteState, exchange: Exchange) -> None:
    """A 1x1 PNG."""
    exchange.send(200, "image/png", PNG_BYTES)


def no_type(site: SiteState, exchange: Exchange) -> None:
    """A body without Content-Type."""
    exchange.send(200, None, b"<p>no content type</p>")


def status(site: SiteState, exchange: Exchange) -> None:
    """``/status/<code>``: that status."""
    code = int(exchange.path.rsplit("/", 1)[-1])
    exchange.send_html(code, f"Status {code}", "<p>as requested</p>")


def redirect_chain(site: SiteState, exchange: Exchange) -> None:
    """``/redirect/<n>``: n hops, then a page."""
    hops = int(exchange.path.rsplit("/", 1)[-1])
    if hops <= 0:
        exchange.send_html(200, "End of the redirects", "<p>you made it</p>")
        return
    exchange.send(302, "text/plain", b"", {"Location": f"/redirect/{hops - 1}"})


def redirect_to(site: SiteState, exchange: Exchange) -> None:
    """``/redirect-to?url=U&status=302``."""
    code = int(exchange.query.get("status", "302"))
    exchange.send(code, "text/plain", b"", {"Location": exchange.query.get("url", "/")})


def set_cookie(site: SiteState, exchange: Exchange) -> None:
    """A page that sets a tracking cookie."""
    page = html_page("Cookie", "<p>have a cookie</p>").encode()
    exchange.send(200, "text/html; charset=utf-8", page, {"Set-Cookie": "tracker=abc123; Path=/"})


def echo_cookie(site: SiteState, exchange: Exchange) -> None:
    """A page showing the Cookie header it got."""
    cookie = exchange.handler.headers.get("cookie") or "none"
    exchange.send_html(200, "Cookie echo", f"<p>cookie: {html.escape(cookie)}</p>")


def latin1(site: SiteState, exchange: Exchange) -> None:
    """Latin-1 declared in the header."""
    page = html_page("Latin-1 page", f"<p>{LATIN1_TEXT}</p>", charset=None)
    exchange.send(200, "text/html; charset=ISO-8859-1", page.encode("cp1252"))


def koi8(site: SiteState, exchange: Exchange) -> None:
    """KOI8-R declared in a meta tag only."""
    page = html_page("Страница KOI8-R", f"<p>{RUSSIAN_TEXT}</p>", charset="koi8-r")
    exchange.send(200, "text/html", page.encode("koi8-r"))


def cp1251(site: SiteState, exchange: Exchange) -> None:
    """Windows-1251 with no declaration at all."""
    page = html_page("Страница без кодировки", f"<p>{RUSSIAN_TEXT}</p>" * 3, charset=None)
    exchange.send(200, "text/html", page.encode("cp1251"))


def shift_jis(site: SiteState, exchange: Exchange) -> None:
    """Shift_JIS declared in the header."""
    page = html_page("日本語のページ", f"<p>{JAPANESE_TEXT}</p>", charset=None)
    exchange.send(200, "text/html; charset=Shift_JIS", page.encode("shift_jis"))


ROUTES: dict[str, Route] = {
    "/slow": slow,
    "/big": big,
    "/big-stream": big_stream,
    "/image.png": image,
    "/no-type": no_type,
    "/redirect-to": redirect_to,
    "/set-cookie": set_cookie,
    "/echo-cookie": echo_cookie,
    "/charset/latin1.html": latin1,
    "/charset/koi8.html": koi8,
    "/charset/cp1251.html": cp1251,
    "/charset/shift_jis.html": shift_jis,
}
PREFIXES: dict[str, Route] = {
    "/flaky/": flaky,
    "/ratelimited/": rate_limited,
    "/status/": status,
    "/redirect/": redirect_chain,
}
