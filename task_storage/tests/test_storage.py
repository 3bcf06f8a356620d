"""The shared tables on SQLite, PostgreSQL and MariaDB: Chinese text, exact keys, race-safe upserts.

The ``engine`` fixture (empty shared tables on each database) comes from the devtools pytest plugin.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from task_storage import (
    Document,
    KeywordCount,
    TrackedKeyword,
    upsert,
)

DAY = dt.date(2025, 3, 14)


def document(url: str, text: str = "", title: str | None = None) -> dict[str, object]:
    return {
        "url": url,
        "source": "test",
        "kind": "article",
        "status": 200,
        "title": title,
        "text": text,
        "day": DAY,
        "fetched_at": dt.datetime(2025, 3, 14, 12, 0, tzinfo=dt.UTC),
    }


def test_chinese_japanese_and_emoji_text_round_trips(engine):
    text = "我今天吃了拉麵，很好吃。東京でラーメンを食べました。서울 🍜" * 2000  # beyond 64 KiB in UTF-8
    with engine.begin() as connection:
        connection.execute(insert(Document), [document("https://example.test/拉麵?q=中文", text, "拉麵 🍜")])
    with Session(engine) as session:
        row = session.scalars(select(Document)).one()
    assert (row.url, row.title, row.text) == ("https://example.test/拉麵?q=中文", "拉麵 🍜", text)


def test_keys_compare_exactly_and_long_urls_stay_unique(engine):
    long_url = "https://example.test/" + "a" * 2000
    with Session(engine) as session, session.begin():
        upsert(
            session,
            TrackedKeyword,
            [{"keyword": name, "aliases": [], "active": True} for name in ("Rabbit", "rabbit", "拉面", "拉麵")],
            keys=["keyword"],
            update_columns=["aliases", "active"],
        )
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(TrackedKeyword)) == 4
    with engine.begin() as connection:
        connection.execute(insert(Document), [document(long_url), document(long_url + "b")])
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert(Document), [document(long_url)])


def test_upsert_inserts_then_updates(engine):
    with Session(engine) as session, session.begin():
        upsert(session, TrackedKeyword, [{"keyword": "拉面", "aliases": ["拉麵"], "active": True}], **KEYWORD_UPSERT)
    with Session(engine) as session, session.begin():
        upsert(
            session, TrackedKeyword, [{"keyword": "拉面", "aliases": ["ラーメン"], "active": False}], **KEYWORD_UPSERT
        )
    with Session(engine) as session:
        rows = [(row.keyword, row.aliases, row.active) for row in session.scalars(select(TrackedKeyword))]
    assert rows == [("拉面", ["ラーメン"], False)]


KEYWORD_UPSERT: dict[str, list[str]] = {"keys": ["keyword"], "update_columns": ["aliases", "active"]}


def test_two_workers_upserting_the_same_rows_at_once_both_succeed(engine):
    keywords = [f"关键词{n}" for n in range(40)]
    with Session(engine) as session, session.begin():
        upsert(
            session, TrackedKeyword, [{"keyword": k, "aliases": [], "active": True} for k in keywords], **KEYWORD_UPSERT
        )
        ids = dict(session.execute(select(TrackedKeyword.keyword, TrackedKeyword.id)).all())
    start = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def worker(count: int, reverse: bool) -> None:
        rows = [
            {"keyword_id": ids[k], "day": DAY + dt.timedelta(days=d), "count": count}
            for k in keywords
            for d in range(5)
        ]
        try:
            start.wait()
            for _ in range(5):
                with Session(engine) as session, session.begin():
                    upsert(
                        session,
                        KeywordCount,
                        rows[::-1] if reverse else rows,
                        keys=["keyword_id", "day"],
                        update_columns=["count"],
                    )
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n, n == 2)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    with Session(engine) as session:
        counts = session.execute(select(KeywordCount.count, func.count()).group_by(KeywordCount.count)).all()
    total = sum(number for _, number in counts)
    assert total == len(keywords) * 5
    assert {value for value, _ in counts} <= {1, 2}
