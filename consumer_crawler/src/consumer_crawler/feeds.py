"""Read feeds: RSS and Atom (feedparser), JSON Feed, and item lists from JSON APIs.

Every format becomes a :class:`ParsedFeed` of :class:`FeedEntry` items with an absolute,
normalised URL, a title, a publication date and the entry's own text (its full
content when the feed carries it, else its summary, HTML reduced to text).

JSON items are read leniently: the list is the document itself or its ``items``,
``data``, ``results``, ``articles`` or ``documents`` member; an item's URL is its
``url``, ``link``, ``href`` or ``external_url``; its text the first of ``content_text``,
``text``, ``content``, ``body``, ``content_html``, ``summary``, ``description``; its
date the first of ``date_published``, ``published``, ``published_at``, ``date``,
``pubDate``, ``created_at``, ``date_modified``, ``updated_at``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import feedparser  # type: ignore[import-untyped]

from consumer_crawler.errors import ParseError
from consumer_crawler.parsing import html_to_text, normalise_text, parse_date
from consumer_crawler.urls import absolute_url

LIST_KEYS = ("items", "data", "results", "articles", "documents", "entries")
URL_KEYS = ("url", "link", "href", "external_url", "permalink")
TITLE_KEYS = ("title", "headline", "name")
TEXT_KEYS = ("content_text", "text", "content", "body", "content_html", "summary", "description")
DATE_KEYS = (
    "date_published",
    "published",
    "published_at",
    "date",
    "pubDate",
    "created_at",
    "date_modified",
    "updated_at",
)
JSONFEED_VERSION = "https://jsonfeed.org/version/"


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a feed or API listing."""

    url: str | None
    title: str | None
    published: dt.datetime | None
    text: str
    links: int = 0


@dataclass(frozen=True)
class ParsedFeed:
    """A feed's format, title and entries."""

    format: str
    title: str | None
    entries: list[FeedEntry]


def _text_of(value: str, is_html: bool) -> str:
    if is_html or ("<" in value and ">" in value):
        return html_to_text(value)
    return normalise_text(value)


def _struct_to_datetime(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in value[:6])
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except (TypeError, ValueError):
        return None


def parse_xml_feed(content: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """An RSS (0.9x, 1.0, 2.0) or Atom feed read by feedparser; ParseError when it is not a feed.

    The body is handed over as a stream: feedparser given a string would treat it as
    a URL or a file name to open.
    """
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(io.BytesIO(content), response_headers=headers, sanitize_html=True)
    version = str(parsed.get("version") or "")
    if not version:
        reason = parsed.get("bozo_exception")
        raise ParseError(f"{url}: not an RSS or Atom feed{f' ({reason})' if reason else ''}")
    entries = []
    for item in parsed.entries:
        link = item.get("link") or (item.get("id") if str(item.get("id", "")).startswith("http") else None)
        contents = item.get("content") or []
        body = contents[0].get("value", "") if contents else item.get("summary", "")
        entries.append(
            FeedEntry(
                url=absolute_url(url, link) if link else None,
                title=normalise_text(item.get("title", "")) or None,
                published=_struct_to_datetime(item.get("published_parsed") or item.get("updated_parsed")),
                text=html_to_text(body) if body else "",
            )
        )
    feed_title = normalise_text(parsed.feed.get("title", "")) or None
    return ParsedFeed(format=version, title=feed_title, entries=entries)


def _first(item: Mapping[str, Any], keys: Sequence[str]) -> tuple[str, str] | None:
    for key in keys:
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return key, value
    return None


def json_entry(item: Mapping[str, Any], base_url: str) -> FeedEntry:
    """One JSON item (JSON Feed or a JSON API) as an entry."""
    found_url = _first(item, URL_KEYS)
    found_title = _first(item, TITLE_KEYS)
    found_text = _first(item, TEXT_KEYS)
    published = None
    for key in DATE_KEYS:
        value = item.get(key)
        if isinstance(value, str):
            published = parse_date(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            published = dt.datetime.fromtimestamp(value, tz=dt.UTC)
        if published is not None:
            break
    text = _text_of(found_text[1], found_text[0] == "content_html") if found_text else ""
    links = item.get("links")
    return FeedEntry(
        url=absolute_url(base_url, found_url[1]) if found_url else None,
        title=normalise_text(found_title[1]) if found_title else None,
        published=published,
        text=text,
        links=len(links) if isinstance(links, list) else 0,
    )


def json_items(data: Any) -> list[Mapping[str, Any]] | None:
    """The item list of a JSON document, or None when it is a single object."""
    if isinstance(data, list):
        return [item for item in data if isinstance(item, Mapping)]
    if isinstance(data, Mapping):
        for key in LIST_KEYS:
            value = data.get(key)
            if isinstance(value, list):
                return [item for item in value if isinstance(item, Mapping)]
    return None


def load_json(content: bytes, url: str) -> Any:
    """A JSON body (UTF-8/16/32 detected by the json module); ParseError when invalid."""
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"{url}: invalid JSON: {exc}") from None


def parse_json_feed(content: bytes, url: str, *, require_jsonfeed: bool = False) -> ParsedFeed:
    """A JSON Feed (jsonfeed.org) or any JSON item list."""
    data = load_json(content, url)
    version = data.get("version") if isinstance(data, Mapping) else None
    is_jsonfeed = isinstance(version, str) and version.startswith(JSONFEED_VERSION)
    if require_jsonfeed and not is_jsonfeed:
        raise ParseError(f"{url}: not a JSON Feed (no 'version' starting with {JSONFEED_VERSION})")
    items = json_items(data)
    if items is None:
        raise ParseError(f"{url}: JSON document has no item list ({', '.join(LIST_KEYS)})")
    title = data.get("title") if isinstance(data, Mapping) else None
    return ParsedFeed(
        format="jsonfeed" if is_jsonfeed else "json_api",
        title=normalise_text(title) if isinstance(title, str) else None,
        entries=[json_entry(item, url) for item in items],
    )


def looks_like_json(content: bytes, media: str) -> bool:
    """Whether a body should be read as JSON rather than XML."""
    if "json" in media:
        return True
    return content.lstrip()[:1] in (b"{", b"[")
