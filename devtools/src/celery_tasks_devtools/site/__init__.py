"""One fake news site on loopback, for the crawler's tests and for `producer demo`.

Routes (GET unless said otherwise):

- ``/robots.txt`` (disallows ``/private/`` unless the site is built open); ``/`` lists the
  feeds and the articles; ``/about.html``; ``/articles/<day>/<n>.html`` are the articles
  (with ``article:published_time``);
- ``/feed.xml`` (RSS 2.0), ``/atom.xml`` (Atom 1.0), ``/feed.json`` (JSON Feed 1.1), all
  newest first, ``?limit=N``; ``/feeds/<section>.rss`` and ``.atom`` per section;
  ``/feeds/mixed.xml`` has one good entry and entries that fail (robots, 404, a private address);
- ``POST /api/login`` (JSON or form ``username``/``password``) sets a ``session`` cookie;
  ``/api/articles`` (listing) and ``/api/articles/<id>`` need it, else 401;
- ``/slow?seconds=S``, ``/flaky/<key>?fail=N&status=500``, ``/ratelimited/<key>?fail=N&after=S``,
  ``/big?bytes=N``, ``/big-stream?bytes=N``, ``/image.png``, ``/no-type``, ``/status/<code>``,
  ``/redirect/<n>``, ``/redirect-to?url=U&status=302``, ``/charset/latin1.html``,
  ``/charset/koi8.html``, ``/charset/cp1251.html``, ``/charset/shift_jis.html``,
  ``/set-cookie`` and ``/echo-cookie``;
- any path put in :attr:`NewsSite.pages` is served from there first.

Two sets of articles: :class:`CrawlerTestSite` (a steady keyword rate, one spike) and
:class:`SiteServer` over :func:`generate` (the demo's newsroom, English or Chinese, a surge).
"""

from __future__ import annotations

from celery_tasks_devtools.site.articles import DEFAULT_KEYWORDS, SECTIONS, Article, generate_articles
from celery_tasks_devtools.site.newsroom import KEYWORDS, LANGUAGES, SURGE, DemoSite, generate, write_keywords_file
from celery_tasks_devtools.site.render import article_html
from celery_tasks_devtools.site.routes_news import feed_paths
from celery_tasks_devtools.site.routes_odd import JAPANESE_TEXT, LATIN1_TEXT, RUSSIAN_TEXT
from celery_tasks_devtools.site.server import CrawlerTestSite, NewsSite, SiteServer
from celery_tasks_devtools.site.state import ROBOTS_ALLOW_ALL, ROBOTS_DISALLOW_PRIVATE

__all__ = [
    "DEFAULT_KEYWORDS",
    "JAPANESE_TEXT",
    "KEYWORDS",
    "LANGUAGES",
    "LATIN1_TEXT",
    "ROBOTS_ALLOW_ALL",
    "ROBOTS_DISALLOW_PRIVATE",
    "RUSSIAN_TEXT",
    "SECTIONS",
    "SURGE",
    "Article",
    "CrawlerTestSite",
    "DemoSite",
    "NewsSite",
    "SiteServer",
    "article_html",
    "feed_paths",
    "generate",
    "generate_articles",
    "write_keywords_file",
]
