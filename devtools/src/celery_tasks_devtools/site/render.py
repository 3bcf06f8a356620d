"""The site's pages: HTML pages, article pages, the index, RSS 2.0, Atom 1.0 and JSON Feed 1.1."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Sequence
from email.utils import format_datetime
from xml.sax.saxutils import escape

from celery_tasks_devtools.site.articles import Article

ABOUT_PAGE = (
    b"<!doctype html><html><head><title>About the demo site</title></head><body>"
    b"<h1>About</h1><p>Generated articles for the pipeline demo.</p></body></html>"
)


def stamp(moment: dt.datetime) -> str:
    """ISO 8601 with a ``Z`` for UTC."""
    return moment.isoformat().replace("+00:00", "Z")


def html_page(
    title: str, body: str, *, head: str = "", charset: str | None = "utf-8", language: str | None = None
) -> str:
    """A complete HTML document."""
    meta = f'<meta charset="{charset}">' if charset else ""
    lang = f' lang="{language}"' if language else ""
    return (
        f"<!doctype html><html{lang}><head>{meta}<title>{html.escape(title)}</title>{head}</head>"
        f"<body>{body}</body></html>"
    )


def article_html(article: Article, language: str = "en", related: Sequence[Article] = ()) -> str:
    """The article page: publication time in a meta tag and a <time> element, links home and to ``related``.

    The related links' text names only their day, so the page's text mentions no keyword
    its article does not (the demo's expected counts stay exact).
    """
    when = stamp(article.published)
    links = "".join(f'<li><a href="{other.path}">More from {other.day.isoformat()}</a></li>' for other in related)
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in article.paragraphs)
    head = (
        f'\n<meta property="article:published_time" content="{when}">'
        f'\n<meta property="article:section" content="{article.section}">\n'
    )
    body = (
        f'<nav><a href="/">Home</a></nav><article>\n<h1>{html.escape(article.title)}</h1>\n'
        f'<p class="byline">Published <time datetime="{when}">{article.published:%d %b %Y %H:%M} UTC</time>\n'
        f'in <a href="/">{article.section}</a></p>\n{paragraphs}\n</article>'
        f"<aside><ul>{links}</ul></aside><script>var tracking = 'not text';</script>"
    )
    return html_page(article.title, body, head=head, language=language) + "\n"


def index_html(articles: Sequence[Article], feeds: Sequence[str]) -> str:
    """The home page: the feeds and every article."""
    feed_items = "".join(f'<li><a href="{path}">{path}</a></li>' for path in feeds)
    items = "".join(f'<li><a href="{a.path}">{html.escape(a.title)}</a></li>' for a in articles)
    return html_page("Generated news", f"<h1>Generated news</h1><ul>{feed_items}</ul><ul>{items}</ul>")


def newest_first(articles: Sequence[Article], limit: int = 0) -> list[Article]:
    """Articles sorted newest first, at most ``limit`` of them when it is not 0."""
    newest = sorted(articles, key=lambda article: article.published, reverse=True)
    return newest[:limit] if limit else newest


def rss(articles: Sequence[Article], base_url: str, title: str = "Generated news") -> str:
    """An RSS 2.0 feed of ``articles`` (given newest first) with every entry's pubDate."""
    items = "".join(
        f"<item><title>{escape(a.title)}</title><link>{escape(base_url + a.path)}</link>"
        f'<guid isPermaLink="true">{escape(base_url + a.path)}</guid><pubDate>{format_datetime(a.published)}</pubDate>'
        f"<description>{escape(a.paragraphs[0])}</description></item>"
        for a in articles
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{escape(base_url)}/</link>"
        f"<description>Generated articles</description>{items}</channel></rss>\n"
    )


def atom(articles: Sequence[Article], base_url: str, path: str, title: str = "Generated news (Atom)") -> str:
    """An Atom feed of ``articles`` (given newest first) with every entry's published and updated times."""
    entries = "".join(
        f"<entry><id>{escape(base_url + a.path)}</id><title>{escape(a.title)}</title>"
        f'<link rel="alternate" href="{escape(base_url + a.path)}"/>'
        f"<published>{stamp(a.published)}</published><updated>{stamp(a.published)}</updated>"
        f"<summary>{escape(a.paragraphs[0])}</summary>"
        f'<content type="html">{escape("".join(f"<p>{p}</p>" for p in a.paragraphs))}</content></entry>'
        for a in articles
    )
    updated = stamp(articles[0].published if articles else dt.datetime.now(dt.UTC))
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{escape(base_url + path)}</id><title>{escape(title)}</title><updated>{updated}</updated>"
        f'<link rel="self" href="{escape(base_url + path)}"/>{entries}</feed>\n'
    )


def json_feed(articles: Sequence[Article], base_url: str) -> str:
    """A JSON Feed 1.1 of ``articles`` (given newest first), each item with its whole text."""
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Generated news (JSON)",
        "home_page_url": f"{base_url}/",
        "items": [
            {
                "id": str(a.id),
                "url": base_url + a.path,
                "title": a.title,
                "content_text": a.text,
                "date_published": a.published.isoformat(),
            }
            for a in articles
        ],
    }
    return json.dumps(feed)
