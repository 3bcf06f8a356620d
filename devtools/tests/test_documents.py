"""Generated benchmark documents: the planned count per day, reproducible from the seed, with mentions."""

import datetime as dt
import random

from celery_tasks_devtools.documents import insert_documents, title_and_text, vocabulary
from sqlalchemy import func, select

from task_storage import Document, create_schema, make_engine

DAY = dt.date(2026, 6, 30)


def test_the_plan_is_stored_day_by_day(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'documents.db'}")
    create_schema(engine)
    rng = random.Random(7)
    plan = [(DAY, 5_003), (DAY - dt.timedelta(days=1), 12)]  # over one insert batch, and a small day
    assert insert_documents(engine, plan, rng=rng, words=vocabulary(rng), mentions=["Typhoon"], length=40) == 5_015
    with engine.connect() as connection:
        per_day = dict(connection.execute(select(Document.day, func.count()).group_by(Document.day)).all())
        urls = connection.execute(select(func.count(func.distinct(Document.url)))).scalar_one()
        with_mention = connection.execute(select(func.count()).where(Document.text.contains("Typhoon"))).scalar_one()
    engine.dispose()
    assert per_day == {DAY: 5_003, DAY - dt.timedelta(days=1): 12}
    assert urls == 5_015
    assert 0 < with_mention < 5_015  # a third of the documents carry none


def test_the_same_seed_gives_the_same_documents():
    first, second = random.Random(3), random.Random(3)
    words = vocabulary(random.Random(1))
    made = [title_and_text(first, words, ["AI"], 30) for _ in range(50)]
    assert made == [title_and_text(second, words, ["AI"], 30) for _ in range(50)]
    assert all(len(title.split()) == 8 and text for title, text in made)
    assert sum("AI" in text.split() for _, text in made) > 0
