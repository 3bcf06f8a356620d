"""``fake-news-site``: serve the crawler tests' site on loopback until SIGINT or SIGTERM.

Articles are generated deterministically (``--seed``) for the last ``--days`` days,
``--per-day`` a day; each tracked keyword (``--keywords``) appears in an article with
probability ``--rate``, and on the last day ``--spike`` appears in every article, so the
daily keyword counts have a history and one clear crossing. The routes are listed in
docs/testing.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import threading
from collections.abc import Sequence

from celery_tasks_devtools.site.articles import DEFAULT_KEYWORDS
from celery_tasks_devtools.site.server import CrawlerTestSite


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the generated site until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="fake-news-site", description=(__doc__ or "").split("\n\n")[0])
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
