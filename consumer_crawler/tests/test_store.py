"""Document upserts on SQLite and PostgreSQL: one row per normalised URL, also under concurrent writers."""

import datetime as dt
import threading

from consumer_crawler.store import DocumentDraft, DocumentStore, crawler_engine
from sqlalchemy import func, select

from task_storage import Document


def draft(url: str, text: str = "some text", **changes) -> DocumentDraft:
    values = {
        "url": url,
        "source": "test",
        "kind": "article",
        "status": 200,
        "title": "Title",
        "text": text,
        "links": 2,
        "published": dt.datetime(2024, 3, 5, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    }
    values.update(changes)
    return DocumentDraft(**values)


def rows(store: DocumentStore) -> list[Document]:
    with store.sessions() as session:
        return list(session.scalars(select(Document).order_by(Document.id)))


def test_same_url_twice_updates_one_row(store):
    first = store.save(draft("http://Example.com/a?b=2&a=1#x", "first text"))
    again = store.save(draft("http://example.com:80/a?a=1&b=2", "first   text"))
    changed = store.save(draft("http://example.com/a?a=1&b=2", "second text", title="New title"))
    assert (first.outcome, again.outcome, changed.outcome) == ("new", "unchanged", "updated")
    assert first.id == again.id == changed.id
    (row,) = rows(store)
    assert row.url == "http://example.com/a?a=1&b=2"
    assert row.title == "New title"
    assert row.text == "second text"
    assert row.content_hash == changed.content_hash != first.content_hash
    assert row.day == dt.date(2024, 3, 6)  # the publication time in UTC
    assert first.changed and not again.changed and changed.changed


def test_fetch_day_when_there_is_no_publication_date(store):
    fetched = dt.datetime(2024, 7, 1, 12, tzinfo=dt.UTC)
    stored = store.save(draft("http://example.com/undated", published=None), fetched_at=fetched)
    assert stored.day == dt.date(2024, 7, 1)
    assert store.find("HTTP://EXAMPLE.COM/undated#frag") == stored.id
    assert store.find("http://example.com/missing") is None


def test_concurrent_writers_of_one_url_make_one_row(store, database_url):
    """Eight threads with their own engines (like eight workers) store the same URLs at once."""
    engines = [crawler_engine(database_url) for _ in range(8)]
    stores = [DocumentStore(engine) for engine in engines]
    urls = [f"http://race.example/page/{n}" for n in range(5)]
    barrier = threading.Barrier(len(stores))
    outcomes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(worker_store: DocumentStore, index: int) -> None:
        try:
            barrier.wait(timeout=60)
            for url in urls:
                result = worker_store.save(draft(url, f"text from worker {index % 2}"))
                with lock:
                    outcomes.append(result.outcome)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s, i)) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a worker thread did not finish within 60 s"
    for engine in engines:
        engine.dispose()
    assert errors == []
    assert outcomes.count("new") == len(urls)  # exactly one worker created each row
    assert len(outcomes) == len(urls) * len(stores)
    with store.sessions() as session:
        counts = dict(session.execute(select(Document.url, func.count()).group_by(Document.url)).all())
    assert counts == dict.fromkeys(urls, 1)
