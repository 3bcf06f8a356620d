"""The site's articles, and the crawler tests' generator: a steady keyword rate, a spike on the last day."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_KEYWORDS = ("rabbitmq", "celery", "python", "kubernetes", "postgresql", "redis", "docker", "kafka")
SECTIONS = ("engineering", "operations")
FILLER_TEXT = (
    "the team shipped a new release of the service today with faster startup and better logs "
    "engineers measured latency under load and found the queue kept up while workers scaled out "
    "operators can now roll back a deployment in seconds and the dashboard shows every step "
    "users asked for clearer errors so each failure now names the setting that caused it "
    "benchmarks ran on two cores with a local broker and the numbers are in the appendix"
)
FILLER = tuple(FILLER_TEXT.split())


@dataclass(frozen=True)
class Article:
    """One generated article: the ``number``-th of its day, in a section, mentioning ``keywords``."""

    id: int
    day: dt.date
    number: int
    section: str
    published: dt.datetime
    title: str
    paragraphs: tuple[str, ...]
    keywords: tuple[str, ...]

    @property
    def path(self) -> str:
        """The article's path on the site."""
        return f"/articles/{self.day.isoformat()}/{self.number}.html"

    @property
    def text(self) -> str:
        """All paragraphs as one text."""
        return "\n\n".join(self.paragraphs)


def generate_articles(
    days: int,
    per_day: int,
    *,
    today: dt.date,
    keywords: Sequence[str] = DEFAULT_KEYWORDS,
    rate: float = 0.25,
    spike: str | None = None,
    seed: int = 7,
) -> list[Article]:
    """Articles for the ``days`` days up to ``today``; ``spike`` is in every article of ``today``."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    articles: list[Article] = []
    for offset in range(days - 1, -1, -1):
        day = today - dt.timedelta(days=offset)
        for number in range(per_day):
            mentioned = [keyword for keyword in keywords if rng.random() < rate]
            if spike and day == today and spike not in mentioned:
                mentioned.append(spike)
            paragraphs = []
            for index in range(3):
                words = [rng.choice(FILLER) for _ in range(30)]
                for keyword in mentioned[index::3]:
                    words.insert(rng.randrange(len(words)), keyword)
                paragraphs.append(" ".join(words).capitalize() + ".")
            topic = mentioned[0] if mentioned else rng.choice(FILLER)
            published = dt.datetime.combine(day, dt.time(8 + number % 10, (number * 7) % 60), tzinfo=dt.UTC)
            articles.append(
                Article(
                    id=len(articles) + 1,
                    day=day,
                    number=number,
                    section=SECTIONS[number % len(SECTIONS)],
                    published=published,
                    title=f"Notes on {topic} #{len(articles) + 1}",
                    paragraphs=tuple(paragraphs),
                    keywords=tuple(mentioned),
                )
            )
    return articles
