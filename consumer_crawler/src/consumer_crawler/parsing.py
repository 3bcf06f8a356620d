"""Parse an HTML article: title, text, links, publication date; normalised text and its hash.

HTML is parsed with selectolax (the lexbor engine). Scripts, styles, templates, SVG,
iframes and forms are dropped; the text comes from ``<article>``, else ``<main>``, else
``<body>``. The normalised text is NFC with every run of whitespace collapsed to one
space; the content hash is the sha256 of it, so reformatting alone changes nothing.
The publication date is read, in order, from ``<meta property="article:published_time">``
and similar meta tags, then the first ``<time datetime>``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import re
import unicodedata
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from consumer_crawler.urls import absolute_url

DROPPED_TAGS = ["script", "style", "noscript", "template", "svg", "iframe", "form", "head"]
DATE_META = (
    'meta[property="article:published_time"]',
    'meta[name="article:published_time"]',
    'meta[itemprop="datePublished"]',
    'meta[name="pubdate"]',
    'meta[name="publish-date"]',
    'meta[name="date"]',
    'meta[name="dc.date"]',
    'meta[name="DC.date.issued"]',
)
TITLE_META = ('meta[property="og:title"]', 'meta[name="twitter:title"]')
MAX_TITLE = 1000
BLOCK_TAG = re.compile(
    r"<(/?)(p|div|br|hr|li|ul|ol|dl|dt|dd|h[1-6]|tr|td|th|table|article|section|header|footer|aside|nav|"
    r"main|blockquote|pre|figure|figcaption|address)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ParsedPage:
    """What the crawler keeps of a page."""

    title: str | None
    text: str
    links: int
    published: dt.datetime | None


def normalise_text(text: str) -> str:
    """NFC, every run of whitespace collapsed to one space, trimmed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def content_hash(text: str) -> str:
    """sha256 (hex) of the normalised text."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def parse_date(value: str | None) -> dt.datetime | None:
    """An aware datetime from ISO 8601 or an RFC 2822 date; a naive value is taken as UTC."""
    if not value:
        return None
    value = value.strip()
    parsed: dt.datetime | None = None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def _attribute(node: LexborNode | None, name: str) -> str | None:
    if node is None:
        return None
    value = node.attributes.get(name)
    return value.strip() if value and value.strip() else None


def _clip(title: str | None) -> str | None:
    if not title:
        return None
    title = normalise_text(title)
    return title[:MAX_TITLE] or None


def _spaced(html: str) -> str:
    """The HTML with a space before every block-level tag, so that blocks do not run together as text."""
    return BLOCK_TAG.sub(r" <\1\2", html)


def html_to_text(html: str) -> str:
    """The visible text of an HTML fragment or page, normalised."""
    tree = LexborHTMLParser(_spaced(html))
    tree.strip_tags(DROPPED_TAGS)
    root = tree.body or tree.root
    return normalise_text(root.text(separator="")) if root is not None else ""


def parse_html(html: str, url: str) -> ParsedPage:
    """Title, normalised text, number of distinct http(s) links and publication date of an HTML page."""
    tree = LexborHTMLParser(_spaced(html))
    title_node = tree.css_first("title")
    title = title_node.text() if title_node is not None else None
    for selector in TITLE_META:
        title = title or _attribute(tree.css_first(selector), "content")
    if not (title and title.strip()):
        heading = tree.css_first("h1")
        title = heading.text() if heading is not None else None
    published = None
    for selector in DATE_META:
        published = parse_date(_attribute(tree.css_first(selector), "content"))
        if published is not None:
            break
    if published is None:
        published = parse_date(_attribute(tree.css_first("time[datetime]"), "datetime"))
    base = _attribute(tree.css_first("base[href]"), "href")
    base_url = absolute_url(url, base) or url if base else url
    links = {
        link
        for node in tree.css("a[href]")
        if (link := absolute_url(base_url, node.attributes.get("href") or "")) is not None
    }
    tree.strip_tags(DROPPED_TAGS)
    root = tree.css_first("article") or tree.css_first("main") or tree.body or tree.root
    text = normalise_text(root.text(separator="")) if root is not None else ""
    return ParsedPage(title=_clip(title), text=text, links=len(links), published=published)
