"""The cookie-login JSON API: ``POST /api/login`` sets a session cookie; the article routes need it."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from celery_tasks_devtools.site.articles import Article
from celery_tasks_devtools.site.render import newest_first
from celery_tasks_devtools.site.state import Exchange, SiteState

Route = Callable[[SiteState, Exchange], None]


def login(site: SiteState, exchange: Exchange) -> None:
    """Check the JSON or form credentials; set a ``session`` cookie."""
    if exchange.method != "POST":
        exchange.send_json(405, {"error": "POST your credentials"}, {"Allow": "POST"})
        return
    kind = (exchange.handler.headers.get("content-type") or "").split(";")[0].strip()
    try:
        if kind == "application/json":
            credentials = json.loads(exchange.body or b"{}")
        else:
            credentials = {key: values[-1] for key, values in parse_qs(exchange.body.decode()).items()}
    except ValueError:
        credentials = {}
    if credentials.get("username") != site.api_user or credentials.get("password") != site.api_password:
        exchange.send_json(401, {"error": "invalid credentials"})
        return
    token = secrets.token_hex(16)
    with site.lock:
        site.sessions.add(token)
        site.logins += 1
    cookie = f"session={token}; Path=/api; HttpOnly; SameSite=Lax"
    exchange.send_json(200, {"ok": True}, {"Set-Cookie": cookie})


def _authorised(site: SiteState, exchange: Exchange) -> bool:
    for part in (exchange.handler.headers.get("cookie") or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "session" and value in site.sessions:
            return True
    return False


def api_item(site: SiteState, article: Article) -> dict[str, Any]:
    """An article as the JSON API shows it."""
    return {
        "id": article.id,
        "url": site.url(article.path),
        "title": article.title,
        "text": article.text,
        "published_at": article.published.isoformat(),
        "links": [site.url(article.path)],
    }


def listing(site: SiteState, exchange: Exchange) -> None:
    """Articles newest first (``?limit=N``), with their text."""
    if not _authorised(site, exchange):
        exchange.send_json(401, {"error": "log in first"})
        return
    limit = int(exchange.query.get("limit", "0") or 0)
    exchange.send_json(200, {"items": [api_item(site, a) for a in newest_first(site.articles, limit)]})


def item(site: SiteState, exchange: Exchange) -> None:
    """``/api/articles/<id>``: one article."""
    if not _authorised(site, exchange):
        exchange.send_json(401, {"error": "log in first"})
        return
    key = exchange.path.rsplit("/", 1)[-1]
    found = next((a for a in site.articles if str(a.id) == key), None)
    if found is None:
        exchange.send_json(404, {"error": "no such article"})
        return
    exchange.send_json(200, api_item(site, found))


ROUTES: dict[str, Route] = {"/api/login": login, "/api/articles": listing}
PREFIXES: dict[str, Route] = {"/api/articles/": item}
