"""Keyword mapping on a real database (SQLite, PostgreSQL, MariaDB): counts, reruns, keyword changes."""

import datetime as dt
import threading

from consumer_etl.keywords import build_matcher, load_keywords, sync_keywords
from consumer_etl.mapping import map_day
from consumer_etl.settings import DEFAULT_STOPWORDS_FILE
from consumer_etl.text import load_stopwords
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from task_storage import Document, KeywordCount, TrackedKeyword

DAY = dt.date(2024, 3, 1)
STOPWORDS = load_stopwords(DEFAULT_STOPWORDS_FILE)
KEYWORDS = {"rabbitmq": ["rabbit mq"], "python": [], "café": ["coffee"], "open source": ["oss"]}


def prepare(engine, path):
    specs = load_keywords(path)
    return build_matcher(specs, STOPWORDS), sync_keywords(engine, specs)


def stored(engine, day=DAY):
    with Session(engine) as session:
        rows = session.execute(
            select(TrackedKeyword.keyword, KeywordCount.count).join(KeywordCount.keyword).where(KeywordCount.day == day)
        )
        return dict(rows.all())


def row_total(engine):
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(KeywordCount))


def test_counts_documents_mentioning_each_keyword_not_occurrences(engine, seed, keywords_path):
    matcher, ids = prepare(engine, keywords_path(KEYWORDS))
    seed(
        engine,
        DAY,
        [
            "RabbitMQ, rabbitmq and Rabbit MQ again",  # one document, three mentions
            "python and PYTHON",
            "Un CAFÉ, then coffee",
            "nothing relevant at all",
            "open-source python",
        ],
        titles=["", "", "", "RabbitMQ in the title", ""],
    )
    seed(engine, DAY + dt.timedelta(days=1), ["rabbitmq python café oss"])
    found = map_day(engine, DAY, matcher, ids)
    expected = {"rabbitmq": 2, "python": 2, "café": 1, "open source": 1}
    assert found.documents == 5
    assert found.counts == expected
    assert stored(engine) == expected


def test_zero_counts_are_stored_so_a_row_means_the_day_was_mapped(engine, seed, keywords_path):
    matcher, ids = prepare(engine, keywords_path(KEYWORDS))
    seed(engine, DAY, ["only python here"])
    found = map_day(engine, DAY, matcher, ids)
    assert found.counts == {"rabbitmq": 0, "python": 1, "café": 0, "open source": 0}
    assert stored(engine) == found.counts


def test_rerunning_a_day_replaces_its_counts(engine, seed, keywords_path):
    matcher, ids = prepare(engine, keywords_path(KEYWORDS))
    seed(engine, DAY, ["rabbitmq", "rabbitmq python"])
    first = map_day(engine, DAY, matcher, ids)
    again = map_day(engine, DAY, matcher, ids)
    assert first.counts == again.counts == stored(engine) == {"rabbitmq": 2, "python": 1, "café": 0, "open source": 0}
    assert row_total(engine) == len(KEYWORDS)
    # More documents arrive for the day: the rerun gives the new totals, not old + new.
    seed(engine, DAY, ["python", "rabbit mq"])
    third = map_day(engine, DAY, matcher, ids)
    assert third.counts["rabbitmq"] == 3
    assert third.counts["python"] == 2
    assert stored(engine) == third.counts
    assert row_total(engine) == len(KEYWORDS)


def test_a_day_whose_documents_are_gone_keeps_no_rows(engine, seed, keywords_path):
    matcher, ids = prepare(engine, keywords_path(KEYWORDS))
    seed(engine, DAY, ["python"])
    seed(engine, DAY - dt.timedelta(days=1), ["python"])
    map_day(engine, DAY, matcher, ids)
    map_day(engine, DAY - dt.timedelta(days=1), matcher, ids)
    with Session(engine) as session, session.begin():
        session.execute(delete(Document).where(Document.day == DAY))
    found = map_day(engine, DAY, matcher, ids)
    assert found.documents == 0
    assert found.counts == dict.fromkeys(KEYWORDS, 0)
    assert stored(engine) == {}
    assert stored(engine, DAY - dt.timedelta(days=1))["python"] == 1


def test_streams_in_small_batches_with_the_same_result(engine, seed, keywords_path):
    matcher, ids = prepare(engine, keywords_path(KEYWORDS))
    texts = [f"doc {n} " + ("python " if n % 3 == 0 else "") + ("rabbit mq" if n % 5 == 0 else "") for n in range(101)]
    seed(engine, DAY, texts)
    small = map_day(engine, DAY, matcher, ids, read_batch=7, write_batch=1)
    large = map_day(engine, DAY, matcher, ids, read_batch=1000, write_batch=1000)
    assert small.documents == large.documents == 101
    assert small.counts == large.counts == {"rabbitmq": 21, "python": 34, "café": 0, "open source": 0}
    assert stored(engine) == small.counts


def test_keyword_sync_updates_aliases_and_retires_removed_keywords(engine, seed, keywords_path):
    matcher, ids = prepare(engine, keywords_path(KEYWORDS))
    assert sorted(ids) == sorted(KEYWORDS)
    assert sync_keywords(engine, load_keywords(keywords_path(KEYWORDS))) == ids  # idempotent
    seed(engine, DAY, ["python and rabbitmq", "bunny queue"])
    seed(engine, DAY - dt.timedelta(days=1), ["rabbitmq"])
    map_day(engine, DAY, matcher, ids)
    map_day(engine, DAY - dt.timedelta(days=1), matcher, ids)

    # rabbitmq gains an alias; python leaves the file.
    changed = {"rabbitmq": ["bunny queue"], "café": [], "open source": []}
    matcher, new_ids = prepare(engine, keywords_path(changed, "changed.json"))
    assert new_ids["rabbitmq"] == ids["rabbitmq"]
    assert "python" not in new_ids
    found = map_day(engine, DAY, matcher, new_ids)
    assert found.counts == {"rabbitmq": 2, "café": 0, "open source": 0}
    assert stored(engine) == found.counts  # python's row of the rerun day is gone
    assert stored(engine, DAY - dt.timedelta(days=1))["python"] == 0  # older history is kept
    with Session(engine) as session:
        active = dict(session.execute(select(TrackedKeyword.keyword, TrackedKeyword.active)).all())
        aliases = session.scalar(select(TrackedKeyword.aliases).where(TrackedKeyword.keyword == "rabbitmq"))
    assert active == {"rabbitmq": True, "python": False, "café": True, "open source": True}
    assert aliases == ["bunny queue"]

    # python comes back: same row, active again.
    _, back = prepare(engine, keywords_path(KEYWORDS, "back.json"))
    assert back["python"] == ids["python"]


def test_a_chinese_day_is_counted_and_stored(engine, seed, keywords_path):
    matcher, ids = prepare(engine, keywords_path({"拉面": ["拉麵"], "人工智能": ["AI"], "rabbitmq": []}))
    seed(
        engine,
        DAY,
        ["我今天吃了拉麵，很好吃。", "人工智能和拉面", "我用RabbitMQ和AI", "今天天气很好"],
        titles=["", "", "", "拉面店开业"],
    )
    found = map_day(engine, DAY, matcher, ids)
    assert found.counts == {"拉面": 3, "人工智能": 2, "rabbitmq": 1}
    assert stored(engine) == found.counts


def test_two_workers_mapping_the_same_day_at_once_both_succeed(engine, seed, keywords_path):
    matcher, ids = prepare(engine, keywords_path({f"词{n}": [] for n in range(30)} | {"python": []}))
    seed(engine, DAY, [f"词{n} 和 python" for n in range(30)] * 3)
    start = threading.Barrier(2, timeout=30)
    results, errors = [], []

    def worker():
        try:
            start.wait()
            for _ in range(3):
                results.append(map_day(engine, DAY, matcher, ids, write_batch=7).counts)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    expected = {f"词{n}": 3 for n in range(30)} | {"python": 90}
    assert results == [expected] * 6
    assert stored(engine) == expected
    assert row_total(engine) == 31
