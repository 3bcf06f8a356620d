"""A generated news site served on loopback: dated articles, an RSS and an Atom feed, and a surge on the last day.

Every day of the period has a few articles; each tracked keyword appears in a small,
varying number of them (its normal level). On the last day two keywords are suddenly in
most articles, which is what the pipeline should catch and alert on. The site is in
English, or in Chinese (``language="zh"``, content in ``producer.demo_zh``).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from producer import demo_zh

KEYWORDS: tuple[dict[str, Any], ...] = (
    {"keyword": "rabbitmq", "aliases": ["rabbit mq"]},
    {"keyword": "kubernetes", "aliases": ["k8s"]},
    {"keyword": "celery", "aliases": []},
    {"keyword": "postgresql", "aliases": ["postgres"]},
    {"keyword": "python", "aliases": []},
    {"keyword": "kafka", "aliases": []},
)
#: Documents mentioning each surging keyword on the last day (the normal level is 0-3).
SURGE = {"rabbitmq": 14, "kubernetes": 11}
NORMAL_LEVELS = (1, 1, 2, 2, 2, 3, 3, 0)
SECTIONS = ("engineering", "operations")
MIN_ARTICLES_PER_DAY = 5
FEED_HOURS = (8, 10, 12, 14, 16, 18)

FILLER = (
    "The team reviewed the quarterly roadmap and agreed on the next milestones.",
    "Several readers asked for a longer write-up about the migration plan.",
    "A short retrospective followed the release, with notes on what went well.",
    "Latency stayed flat during the week while traffic grew steadily.",
    "The on-call rotation was reorganised to spread the load more evenly.",
    "Documentation was updated to match the new deployment workflow.",
    "A community meetup gathered about forty people in the evening.",
    "Benchmarks were repeated on fresh machines to confirm the numbers.",
)
MENTIONS = (
    "This week's notes cover {word} in some detail.",
    "One talk compared approaches built around {word}.",
    "Operators shared lessons learned while running {word} in production.",
    "A new release of {word} landed with a handful of fixes.",
)


def _english_title(words: list[str], day: dt.date, index: int) -> str:
    topic = " and ".join(w.capitalize() for w in words[:2]) if words else "Team"
    return f"{topic} notes, {day:%B} {day.day} #{index + 1}"


@dataclass(frozen=True)
class Content:
    """What the site writes about, in one language."""

    language: str
    keywords: tuple[dict[str, Any], ...]
    surge: dict[str, int]
    filler: tuple[str, ...]
    mentions: tuple[str, ...]
    title: Callable[[list[str], dt.date, int], str]


LANGUAGES = {
    "en": Content("en", KEYWORDS, SURGE, FILLER, MENTIONS, _english_title),
    "zh": Content("zh", demo_zh.KEYWORDS, demo_zh.SURGE, demo_zh.FILLER, demo_zh.MENTIONS, demo_zh.title),
}


@dataclass(frozen=True)
class Article:
    """One generated article."""

    slug: str
    section: str
    title: str
    published: dt.datetime
    paragraphs: tuple[str, ...]
    keywords: tuple[str, ...]

    @property
    def path(self) -> str:
        """URL path of the article page."""
        return f"/articles/{self.published.date().isoformat()}/{self.slug}.html"


@dataclass
class DemoSite:
    """The site's articles and the expected keyword counts per day."""

    today: dt.date
    content: Content = LANGUAGES["en"]
    articles: list[Article] = field(default_factory=list)
    counts: dict[dt.date, dict[str, int]] = field(default_factory=dict)

    def section(self, name: str) -> list[Article]:
        """Articles of a section, newest first."""
        return sorted((a for a in self.articles if a.section == name), key=lambda a: a.published, reverse=True)


def generate(
    today: dt.date, days: int = 35, seed: int = 7, now: dt.datetime | None = None, language: str = "en"
) -> DemoSite:
    """Articles for ``days`` days ending with ``today`` (UTC), the surge on ``today``, in ``language`` (en, zh)."""
    rng = random.Random(seed)  # noqa: S311 - demo content, not security
    now = now or dt.datetime.now(dt.UTC)
    content = LANGUAGES[language]
    site = DemoSite(today=today, content=content)
    for offset in range(days - 1, -1, -1):
        day = today - dt.timedelta(days=offset)
        levels = {k["keyword"]: rng.choice(NORMAL_LEVELS) for k in content.keywords}
        if day == today:
            levels.update(content.surge)
        total = max(MIN_ARTICLES_PER_DAY, max(levels.values()) + 2)
        chosen: list[list[str]] = [[] for _ in range(total)]
        for keyword, level in levels.items():
            for index in rng.sample(range(total), level):
                chosen[index].append(keyword)
        site.counts[day] = levels
        for index, words in enumerate(chosen):
            published = _published(day, index, total, today, now)
            site.articles.append(_article(rng, content, day, index, words, published))
    return site


def _published(day: dt.date, index: int, total: int, today: dt.date, now: dt.datetime) -> dt.datetime:
    """Spread a day's articles over its working hours; today's stay in the past."""
    start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.UTC)
    if day == today:
        span = max(now - start, dt.timedelta(seconds=total + 1))
        return (start + span * (index + 1) / (total + 1) - dt.timedelta(seconds=1)).replace(microsecond=0)
    hour = FEED_HOURS[index % len(FEED_HOURS)]
    return start + dt.timedelta(hours=hour, minutes=7 * index % 60)


def _article(
    rng: random.Random, content: Content, day: dt.date, index: int, words: list[str], published: dt.datetime
) -> Article:
    aliases = {k["keyword"]: k["aliases"] for k in content.keywords}
    paragraphs = list(rng.sample(content.filler, 3))
    for word in words:
        shown = rng.choice([word, word, *aliases[word]])
        paragraphs.insert(rng.randrange(len(paragraphs) + 1), rng.choice(content.mentions).format(word=shown))
    return Article(
        slug=f"{day.isoformat()}-{index:02d}",
        section=SECTIONS[index % len(SECTIONS)],
        title=content.title(words, day, index),
        published=published,
        paragraphs=tuple(paragraphs),
        keywords=tuple(words),
    )


def article_html(article: Article, language: str = "en") -> str:
    """The article page, with its publication time in a meta tag and a <time> element."""
    stamp = article.published.isoformat().replace("+00:00", "Z")
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in article.paragraphs)
    return f"""<!doctype html>
<html lang="{language}"><head><meta charset="utf-8">
<title>{html.escape(article.title)}</title>
<meta property="article:published_time" content="{stamp}">
<meta property="article:section" content="{article.section}">
</head><body><article>
<h1>{html.escape(article.title)}</h1>
<p class="byline">Published <time datetime="{stamp}">{article.published:%d %b %Y %H:%M} UTC</time>
in <a href="/">{article.section}</a></p>
{body}
</article></body></html>
"""


def rss(site: DemoSite, base_url: str, section: str) -> str:
    """An RSS 2.0 feed of a section with every entry's pubDate."""
    items = []
    for article in site.section(section):
        link = base_url + article.path
        items.append(
            f"<item><title>{html.escape(article.title)}</title><link>{link}</link>"
            f'<guid isPermaLink="true">{link}</guid><pubDate>{format_datetime(article.published)}</pubDate>'
            f"<description>{html.escape(article.paragraphs[0])}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Demo news: {section}</title><link>{base_url}/</link>"
        f"<description>Generated articles about {section}</description>" + "".join(items) + "</channel></rss>\n"
    )


def atom(site: DemoSite, base_url: str, section: str) -> str:
    """An Atom feed of a section with every entry's published and updated times."""
    entries = []
    newest = site.section(section)[0].published if site.section(section) else dt.datetime.now(dt.UTC)
    for article in site.section(section):
        link = base_url + article.path
        stamp = article.published.isoformat().replace("+00:00", "Z")
        entries.append(
            f"<entry><id>{link}</id><title>{html.escape(article.title)}</title>"
            f'<link rel="alternate" href="{link}"/><published>{stamp}</published><updated>{stamp}</updated>'
            f"<summary>{html.escape(article.paragraphs[0])}</summary></entry>"
        )
    updated = newest.isoformat().replace("+00:00", "Z")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{base_url}/feeds/{section}.atom</id><title>Demo news: {section}</title><updated>{updated}</updated>"
        f'<link rel="self" href="{base_url}/feeds/{section}.atom"/>' + "".join(entries) + "</feed>\n"
    )


def feed_paths() -> list[str]:
    """Paths of the site's feeds: the first section as RSS, the second as Atom."""
    return [f"/feeds/{SECTIONS[0]}.rss", f"/feeds/{SECTIONS[1]}.atom"]


def pages(site: DemoSite, base_url: str) -> dict[str, tuple[str, bytes]]:
    """Every path of the site with its content type and body."""
    served: dict[str, tuple[str, bytes]] = {
        "/robots.txt": ("text/plain; charset=utf-8", b"User-agent: *\nAllow: /\n"),
        "/about.html": (
            "text/html; charset=utf-8",
            b"<!doctype html><html><head><title>About the demo site</title></head><body>"
            b"<h1>About</h1><p>Generated articles for the pipeline demo.</p></body></html>",
        ),
        feed_paths()[0]: ("application/rss+xml; charset=utf-8", rss(site, base_url, SECTIONS[0]).encode()),
        feed_paths()[1]: ("application/atom+xml; charset=utf-8", atom(site, base_url, SECTIONS[1]).encode()),
    }
    links = "".join(f'<li><a href="{path}">{path}</a></li>' for path in feed_paths())
    served["/"] = ("text/html; charset=utf-8", f"<!doctype html><h1>Demo news</h1><ul>{links}</ul>".encode())
    for article in site.articles:
        served[article.path] = ("text/html; charset=utf-8", article_html(article, site.content.language).encode())
    return served


class _Handler(BaseHTTPRequestHandler):
    """Serves the generated pages; everything else is 404."""

    pages: ClassVar[dict[str, tuple[str, bytes]]] = {}
    server_version = "demo-site/1"

    def do_GET(self) -> None:
        """Answer one GET."""
        found = self.pages.get(self.path.split("?", 1)[0])
        if found is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        content_type, body = found
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the demo prints its own summary."""


class SiteServer:
    """The demo site on a loopback port, in a background thread."""

    def __init__(self, site: DemoSite, host: str = "127.0.0.1", port: int = 0) -> None:
        self.site = site
        handler: type[_Handler] = type("DemoHandler", (_Handler,), {"pages": {}})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://{host}:{self.httpd.server_address[1]}"
        handler.pages = pages(site, self.base_url)
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="demo-site", daemon=True)

    def start(self) -> SiteServer:
        """Start serving."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def feed_urls(self) -> list[str]:
        """Absolute URLs of the feeds."""
        return [self.base_url + path for path in feed_paths()]


def write_keywords_file(path: Path, language: str = "en") -> Path:
    """The ETL keywords file (ETL_KEYWORDS_FILE) for the site's vocabulary in ``language``."""
    keywords = list(LANGUAGES[language].keywords)
    path.write_text(json.dumps({"keywords": keywords}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
