"""Keyword mapping of one day: count, per tracked keyword, the documents of the day that mention it.

Memory stays bounded whatever the day's size: documents are streamed in batches of
``read_batch`` rows (``yield_per``, a server-side cursor on PostgreSQL), each is matched
and dropped, and only one counter per keyword is kept. The text rules are in
``consumer_etl.text``; a document mentions a keyword when its title or its text contains
the keyword or one of its aliases, and counts once however often it does.

Rerunning a day **replaces** its counts: in one transaction the day's rows are upserted
(one per active keyword, zeros included, so that a row means "this day was mapped") and
the day's other rows (keywords no longer tracked) deleted. A day without documents keeps
no rows at all: it is a day without data, not a day of zeros.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from consumer_etl.text import KeywordMatcher
from task_storage import Document, KeywordCount, upsert


@dataclass
class DayCounts:
    """What mapping one day found."""

    day: dt.date
    documents: int
    counts: dict[str, int]
    seconds: float = 0.0
    written: int = field(default=0)


def count_day(
    engine: Engine, day: dt.date, matcher: KeywordMatcher, read_batch: int = 1000
) -> tuple[int, Counter[str]]:
    """Stream the day's documents and count, per keyword, the documents mentioning it."""
    counts: Counter[str] = Counter()
    documents = 0
    statement = select(Document.title, Document.text).where(Document.day == day).execution_options(yield_per=read_batch)
    with Session(engine) as session:
        for title, text in session.execute(statement):
            documents += 1
            counts.update(matcher.match(title, text))
    return documents, counts


def write_counts(engine: Engine, day: dt.date, counts: Mapping[int, int], write_batch: int = 1000) -> int:
    """Replace the day's rows with ``counts`` (keyword id -> count) in one transaction; returns rows written."""
    rows = [{"keyword_id": keyword_id, "day": day, "count": count} for keyword_id, count in counts.items()]
    with Session(engine) as session, session.begin():
        stale = delete(KeywordCount).where(KeywordCount.day == day)
        if rows:
            stale = stale.where(KeywordCount.keyword_id.not_in(list(counts)))
        session.execute(stale)
        for start in range(0, len(rows), write_batch):
            upsert(
                session,
                KeywordCount,
                rows[start : start + write_batch],
                keys=["keyword_id", "day"],
                update_columns=["count"],
            )
    return len(rows)


def map_day(
    engine: Engine,
    day: dt.date,
    matcher: KeywordMatcher,
    keyword_ids: Mapping[str, int],
    *,
    read_batch: int = 1000,
    write_batch: int = 1000,
) -> DayCounts:
    """Count the day's documents for every keyword of ``keyword_ids`` and replace the day's stored counts."""
    started = time.perf_counter()
    documents, found = count_day(engine, day, matcher, read_batch)
    counts = {keyword: found.get(keyword, 0) for keyword in keyword_ids}
    by_id = {keyword_ids[keyword]: count for keyword, count in counts.items()} if documents else {}
    written = write_counts(engine, day, by_id, write_batch)
    return DayCounts(day, documents, counts, time.perf_counter() - started, written)
