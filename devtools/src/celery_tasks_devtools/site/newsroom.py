"""The demo's newsroom: a few articles a day, each keyword at a small varying level, a surge on the last day.

Every day of the period has a few articles; each tracked keyword appears in a small,
varying number of them (its normal level). On the last day two keywords are suddenly in
most articles, which is what the pipeline should catch and alert on. The site is in
English, or in Chinese (``language="zh"``, content in :mod:`celery_tasks_devtools.site.zh`).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery_tasks_devtools.site import zh
from celery_tasks_devtools.site.articles import SECTIONS, Article

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
    "zh": Content("zh", zh.KEYWORDS, zh.SURGE, zh.FILLER, zh.MENTIONS, zh.title),
}


@dataclass
class DemoSite:
    """The newsroom's articles and the expected keyword counts per day."""

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
            site.articles.append(_article(rng, content, len(site.articles) + 1, day, index, words, published))
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
    rng: random.Random,
    content: Content,
    identifier: int,
    day: dt.date,
    index: int,
    words: list[str],
    published: dt.datetime,
) -> Article:
    aliases = {k["keyword"]: k["aliases"] for k in content.keywords}
    paragraphs = list(rng.sample(content.filler, 3))
    for word in words:
        shown = rng.choice([word, word, *aliases[word]])
        paragraphs.insert(rng.randrange(len(paragraphs) + 1), rng.choice(content.mentions).format(word=shown))
    return Article(
        id=identifier,
        day=day,
        number=index,
        section=SECTIONS[index % len(SECTIONS)],
        title=content.title(words, day, index),
        published=published,
        paragraphs=tuple(paragraphs),
        keywords=tuple(words),
    )


def write_keywords_file(path: Path, language: str = "en") -> Path:
    """The ETL keywords file (ETL_KEYWORDS_FILE) for the newsroom's vocabulary in ``language``."""
    keywords = list(LANGUAGES[language].keywords)
    path.write_text(json.dumps({"keywords": keywords}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
