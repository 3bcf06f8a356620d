"""The news routes: robots.txt, the index, articles, the feeds (all articles, per section, a mixed one)."""

from __future__ import annotations

from collections.abc import Callable

from celery_tasks_devtools.site.articles import SECTIONS
from celery_tasks_devtools.site.render import (
    ABOUT_PAGE,
    article_html,
    atom,
    index_html,
    json_feed,
    newest_first,
    rss,
)
from celery_tasks_devtools.site.state import Exchange, SiteState

Route = Callable[[SiteState, Exchange], None]


def feed_paths() -> list[str]:
    """Paths of the section feeds the demo reads: the first section as RSS, the second as Atom."""
    return [f"/feeds/{SECTIONS[0]}.rss", f"/feeds/{SECTIONS[1]}.atom"]


def _limit(exchange: Exchange) -> int:
    return int(exchange.query.get("limit", "0") or 0)


def robots(site: SiteState, exchange: Exchange) -> None:
    """robots.txt as configured."""
    exchange.send(200, "text/plain; charset=utf-8", site.robots.encode())


def index(site: SiteState, exchange: Exchange) -> None:
    """The home page."""
    exchange.send(200, "text/html; charset=utf-8", index_html(site.articles, feed_paths()).encode())


def about(site: SiteState, exchange: Exchange) -> None:
    """A static page."""
    exchange.send(200, "text/html; charset=utf-8", ABOUT_PAGE)


def article(site: SiteState, exchange: Exchange) -> None:
    """An article page, or 404."""
    found = site.article_by_path(exchange.path)
    if found is None:
        exchange.send_html(404, "Not found", "")
        return
    page = article_html(found, site.language, site.related(found))
    exchange.send(200, "text/html; charset=utf-8", page.encode())


def rss_feed(site: SiteState, exchange: Exchange) -> None:
    """Every article as RSS 2.0, newest first (``?limit=N``)."""
    feed = rss(newest_first(site.articles, _limit(exchange)), site.base_url)
    exchange.send(200, "application/rss+xml; charset=utf-8", feed.encode())


def atom_feed(site: SiteState, exchange: Exchange) -> None:
    """Every article as Atom 1.0, newest first (``?limit=N``)."""
    feed = atom(newest_first(site.articles, _limit(exchange)), site.base_url, exchange.path)
    exchange.send(200, "application/atom+xml", feed.encode())


def json_feed_route(site: SiteState, exchange: Exchange) -> None:
    """Every article as JSON Feed 1.1, newest first (``?limit=N``)."""
    feed = json_feed(newest_first(site.articles, _limit(exchange)), site.base_url)
    exchange.send(200, "application/feed+json", feed.encode())


def section_feed(site: SiteState, exchange: Exchange) -> None:
    """``/feeds/<section>.rss`` or ``.atom``: the articles of one section, newest first."""
    name, _, kind = exchange.path.removeprefix("/feeds/").partition(".")
    if name not in SECTIONS or kind not in {"rss", "atom"}:
        exchange.send_html(404, "Not found", "")
        return
    articles = newest_first([a for a in site.articles if a.section == name])
    if kind == "rss":
        feed = rss(articles, site.base_url, f"Generated news: {name}")
        exchange.send(200, "application/rss+xml; charset=utf-8", feed.encode())
    else:
        feed = atom(articles, site.base_url, exchange.path, f"Generated news: {name}")
        exchange.send(200, "application/atom+xml; charset=utf-8", feed.encode())


def mixed_feed(site: SiteState, exchange: Exchange) -> None:
    """One good entry, then entries a crawler must refuse (robots, 404, a private address)."""
    links = [
        site.url(site.articles[-1].path),
        site.url("/private/hidden.html"),
        site.url("/status/404"),
        "http://10.0.0.1/internal.html",
    ]
    items = "".join(f"<item><title>Entry {n}</title><link>{link}</link></item>" for n, link in enumerate(links))
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Mixed</title>{items}</channel></rss>'
    exchange.send(200, "application/rss+xml", feed.encode())


def private(site: SiteState, exchange: Exchange) -> None:
    """A page robots.txt keeps crawlers out of."""
    exchange.send_html(200, "Private", "<p>robots.txt keeps crawlers out of here</p>")


ROUTES: dict[str, Route] = {
    "/robots.txt": robots,
    "/": index,
    "/about.html": about,
    "/feed.xml": rss_feed,
    "/rss.xml": rss_feed,
    "/atom.xml": atom_feed,
    "/feed.json": json_feed_route,
    "/feeds/mixed.xml": mixed_feed,
}
PREFIXES: dict[str, Route] = {"/articles/": article, "/private/": private, "/feeds/": section_feed}
