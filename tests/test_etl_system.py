"""System test: `consumer-etl` as its own process behind real RabbitMQ queues, on a SQLite file."""

import datetime as dt
import itertools
import json

import pytest
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks.tasks.etl import (
    FindThresholds,
    FindThresholdsResult,
    KeywordThreshold,
    MapKeywords,
    MapKeywordsResult,
)
from celery_tasks_devtools.testing import entry_point
from sqlalchemy import func, insert, select

from celery_tasks import create_app
from task_storage import Document, KeywordCount, create_schema, make_engine

ETL_QUEUES = ["etl.map_keywords", "etl.find_thresholds"]
SPIKE_DAY = dt.date(2024, 4, 15)
HISTORY_DAYS = 10
SERIAL = itertools.count()


def write_keywords(path, keywords):
    path.write_text(json.dumps({"keywords": [{"keyword": k, "aliases": a} for k, a in keywords.items()]}))


@pytest.fixture
def database(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'etl.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def keywords_file(tmp_path):
    path = tmp_path / "keywords.json"
    write_keywords(path, {"rabbitmq": ["rabbit mq"], "café": ["coffee"], "kubernetes": ["k8s"]})
    return path


@pytest.fixture
def etl_worker(start_service, database, keywords_file):
    env = {"CELERY_TASKS_DATABASE_URL": str(database.url), "ETL_KEYWORDS_FILE": str(keywords_file)}
    return start_service([entry_point("consumer-etl"), "--concurrency=2"], ETL_QUEUES, env=env)


@pytest.fixture
def producer_app(task_settings):
    return create_app(ALL_CONTRACTS, task_settings)


def seed(engine, day, texts):
    rows = [
        {
            "url": f"https://news.test/{day}/{next(SERIAL)}",
            "source": "system-test",
            "kind": "article",
            "status": 200,
            "title": None,
            "text": text,
            "day": day,
            "fetched_at": dt.datetime.now(dt.UTC),
        }
        for text in texts
    ]
    with engine.begin() as connection:
        connection.execute(insert(Document), rows)


def seed_history(engine):
    """Ten quiet days (2 or 3 RabbitMQ documents, one café), then a spike of RabbitMQ on SPIKE_DAY."""
    days = [SPIKE_DAY - dt.timedelta(days=back) for back in range(HISTORY_DAYS, 0, -1)]
    for n, day in enumerate(days):
        seed(engine, day, ["RabbitMQ 3.13 notes"] * (2 + n % 2) + ["Un CAFÉ"] + ["unrelated text"] * 4)
    seed(engine, SPIKE_DAY, ["rabbit-MQ outage"] * 9 + ["RABBITMQ again, rabbitmq"] * 6 + ["Coffee"])
    return days


def test_map_several_days_then_find_thresholds_through_the_queues(etl_worker, producer_app, database):
    days = seed_history(database)
    map_keywords = producer_app.tasks[MapKeywords.name]
    mapped = [result.get(timeout=60) for result in [map_keywords.delay(day) for day in [*days, SPIKE_DAY]]]

    assert all(isinstance(result, MapKeywordsResult) for result in mapped)
    assert [result.day for result in mapped] == [*days, SPIKE_DAY]
    assert [result.documents for result in mapped[:3]] == [7, 8, 7]
    assert [result.counts["rabbitmq"] for result in mapped[:-1]] == [2 + n % 2 for n in range(HISTORY_DAYS)]
    assert mapped[-1].counts == {"rabbitmq": 15, "café": 1, "kubernetes": 0}

    judged = producer_app.tasks[FindThresholds.name].delay(SPIKE_DAY, window_days=10, min_history=7).get(timeout=60)
    assert isinstance(judged, FindThresholdsResult)
    assert judged.day == SPIKE_DAY
    assert judged.day_mapped
    assert judged.crossed == ["rabbitmq"]
    by_name = {item.keyword: item for item in judged.keywords}
    assert all(isinstance(item, KeywordThreshold) for item in judged.keywords)
    rabbit = by_name["rabbitmq"]
    assert (rabbit.count, rabbit.crossed, rabbit.status, rabbit.history_days) == (15, True, "crossed", 10)
    assert rabbit.threshold is not None
    assert rabbit.threshold < 15
    assert [(point.day, point.count) for point in rabbit.history] == [(day, 2 + n % 2) for n, day in enumerate(days)]
    assert (by_name["café"].count, by_name["café"].crossed, by_name["café"].threshold) == (1, False, 4.0)
    assert by_name["kubernetes"].status == "below"

    # With a longer minimum history than there is, nothing crosses.
    strict = producer_app.tasks[FindThresholds.name].delay(SPIKE_DAY, window_days=20, min_history=15).get(timeout=60)
    assert strict.crossed == []
    assert {item.status for item in strict.keywords} == {"not_enough_history"}


def test_rerunning_a_day_through_the_queue_replaces_its_counts(etl_worker, producer_app, database):
    seed(database, SPIKE_DAY, ["rabbitmq"] * 3)
    map_keywords = producer_app.tasks[MapKeywords.name]
    first = map_keywords.delay(SPIKE_DAY).get(timeout=60)
    # Delivered twice at once (two worker processes), then once more after new documents arrive.
    twice = [result.get(timeout=60) for result in [map_keywords.delay(SPIKE_DAY), map_keywords.delay(SPIKE_DAY)]]
    assert first.counts["rabbitmq"] == twice[0].counts["rabbitmq"] == twice[1].counts["rabbitmq"] == 3
    seed(database, SPIKE_DAY, ["k8s and rabbit mq"])
    later = map_keywords.delay(SPIKE_DAY).get(timeout=60)
    assert later.counts == {"rabbitmq": 4, "café": 0, "kubernetes": 1}
    with database.connect() as connection:
        rows = connection.execute(select(func.count(), func.sum(KeywordCount.count))).one()
    assert tuple(rows) == (3, 5)


def test_a_changed_keywords_file_is_used_without_a_restart(etl_worker, producer_app, database, keywords_file):
    seed(database, SPIKE_DAY, ["Kubernetes", "kube news", "Ünïcödé kube"])
    map_keywords = producer_app.tasks[MapKeywords.name]
    assert map_keywords.delay(SPIKE_DAY).get(timeout=60).counts["kubernetes"] == 1
    write_keywords(keywords_file, {"kubernetes": ["k8s", "kube"], "unicode": []})
    after = map_keywords.delay(SPIKE_DAY).get(timeout=60)
    assert after.counts == {"kubernetes": 3, "unicode": 1}
    judged = producer_app.tasks[FindThresholds.name].delay(SPIKE_DAY).get(timeout=60)
    assert sorted(item.keyword for item in judged.keywords) == ["kubernetes", "unicode"]
