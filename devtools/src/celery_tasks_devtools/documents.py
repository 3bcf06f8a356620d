"""Generated documents for the ETL benchmarks: random words with keyword mentions, stored in batches."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, insert

from task_storage import Document

INSERT_BATCH = 5_000
FILLER = (  # noqa: SIM905 - common words, many of them stopwords
    "the of and to in is that for on with as by at from this be are was it an or which market report "
    "system update data team users service network release support platform research company government "
    "city week year people new first last time day announced said would could should more most other"
).split()


def vocabulary(rng: random.Random, size: int = 5_000) -> list[str]:
    """``size`` random Latin words (with accents) and the common filler words, 20 times each."""
    letters = "abcdefghijklmnopqrstuvwxyzéèàçñ"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 10))) for _ in range(size)] + FILLER * 20


def title_and_text(
    rng: random.Random, words: Sequence[str], mentions: Sequence[str], length: int = 150
) -> tuple[str, str]:
    """A title of 8 words and a body of about ``length`` words with zero to three ``mentions`` in it.

    The body's length has a normal spread of a third of ``length``; the mentions go in at random places.
    """
    body = rng.choices(words, k=max(1, int(rng.gauss(length, length / 3))))
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        body.insert(rng.randrange(len(body) + 1), rng.choice(mentions))
    return " ".join(rng.choices(words, k=8)), " ".join(body)


def insert_documents(
    engine: Engine,
    plan: Iterable[tuple[dt.date, int]],
    *,
    rng: random.Random,
    words: Sequence[str],
    mentions: Sequence[str],
    length: int = 150,
) -> int:
    """Store ``count`` documents (``title_and_text``) on each ``(day, count)`` of ``plan``; return how many."""
    now = dt.datetime.now(dt.UTC)
    serial = 0
    for day, total in plan:
        for start in range(0, total, INSERT_BATCH):
            rows: list[dict[str, Any]] = []
            for _ in range(min(INSERT_BATCH, total - start)):
                title, text = title_and_text(rng, words, mentions, length)
                serial += 1
                rows.append(
                    {
                        "url": f"https://bench.test/{day.isoformat()}/{serial}",
                        "source": "bench",
                        "kind": "article",
                        "status": 200,
                        "title": title,
                        "text": text,
                        "day": day,
                        "fetched_at": now,
                    }
                )
            with engine.begin() as connection:
                connection.execute(insert(Document), rows)
    return serial
