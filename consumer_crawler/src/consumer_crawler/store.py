"""Store documents: one row per normalised URL, safe when several workers store the same URL at once.

The upsert reads the row with ``SELECT ... FOR UPDATE`` (PostgreSQL and MySQL/MariaDB, at
READ COMMITTED, lock it; on SQLite
every transaction of this engine starts with ``BEGIN IMMEDIATE``, which takes the write
lock up front). When the row does not exist yet it is inserted; if another worker
inserted it in the meantime the unique constraint on ``documents.url`` fails the insert,
the transaction is rolled back and the upsert runs again, now finding the row. So two
racing workers produce one row, one ``new`` and one ``updated``/``unchanged`` outcome.
A locked SQLite file, or a MySQL deadlock or lock wait timeout, is retried the same way.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Engine, event, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from consumer_crawler.errors import StorageConflict
from consumer_crawler.parsing import content_hash, normalise_text
from consumer_crawler.urls import normalise_url
from task_storage import Document, create_schema, make_engine, session_scope

logger = logging.getLogger(__name__)

StoreOutcome = Literal["new", "updated", "unchanged"]
MAX_ATTEMPTS = 6
#: MySQL/MariaDB errors that roll the transaction back and ask for a retry: lock wait timeout, deadlock.
MYSQL_RETRY_CODES = frozenset({1205, 1213})


@dataclass(frozen=True)
class DocumentDraft:
    """A document ready to be stored."""

    url: str
    source: str
    kind: str
    status: int
    title: str | None
    text: str
    links: int
    published: dt.datetime | None


@dataclass(frozen=True)
class StoredDocument:
    """The stored row and what the upsert did."""

    id: int
    url: str
    outcome: StoreOutcome
    content_hash: str
    day: dt.date

    @property
    def changed(self) -> bool:
        """True when the document is new or its content changed."""
        return self.outcome != "unchanged"


def _sqlite_autocommit(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _sqlite_begin_immediate)


def _sqlite_begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def crawler_engine(url: str | None = None) -> Engine:
    """The shared storage engine; on SQLite, transactions take the write lock when they begin."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_autocommit)
        event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


class DocumentStore:
    """Reads and upserts Document rows."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)

    def create_schema(self) -> None:
        """Create the shared tables that do not exist yet."""
        create_schema(self.engine)

    def find(self, url: str) -> int | None:
        """Id of the document stored for ``url`` (any spelling of it), or None."""
        key = normalise_url(url)
        with self.sessions() as session:
            return session.execute(select(Document.id).where(Document.url == key)).scalar_one_or_none()

    def save(self, draft: DocumentDraft, fetched_at: dt.datetime | None = None) -> StoredDocument:
        """Insert or update the document of ``draft.url``; never creates a second row for one URL."""
        fetched_at = fetched_at or dt.datetime.now(dt.UTC)
        key = normalise_url(draft.url)
        text = normalise_text(draft.text)
        digest = content_hash(text)
        day = (draft.published.astimezone(dt.UTC) if draft.published else fetched_at.astimezone(dt.UTC)).date()
        values = {
            "source": draft.source,
            "kind": draft.kind,
            "status": draft.status,
            "title": draft.title[:1000] if draft.title else None,
            "text": text,
            "content_hash": digest,
            "links": draft.links,
            "day": day,
            "fetched_at": fetched_at,
        }
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with session_scope(self.sessions) as session:
                    row = session.execute(
                        select(Document).where(Document.url == key).with_for_update()
                    ).scalar_one_or_none()
                    if row is None:
                        row = Document(url=key, updated_at=fetched_at, **values)
                        session.add(row)
                        session.flush()
                        outcome: StoreOutcome = "new"
                    else:
                        outcome = "unchanged" if row.content_hash == digest else "updated"
                        for name, value in values.items():
                            setattr(row, name, value)
                        row.updated_at = fetched_at
                    document_id = row.id
                return StoredDocument(document_id, key, outcome, digest, day)
            except IntegrityError:
                logger.info("document %s was inserted concurrently; retrying the upsert (%d)", key, attempt)
            except OperationalError as exc:
                if not _retryable(exc) or attempt == MAX_ATTEMPTS:
                    raise
                logger.info("database locked while storing %s; retrying (%d)", key, attempt)
        raise StorageConflict(f"could not store {key} after {MAX_ATTEMPTS} concurrent conflicts")


def _retryable(exc: OperationalError) -> bool:
    """Whether the failed transaction may simply run again (SQLite busy, MySQL deadlock or lock timeout)."""
    code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
    return "locked" in str(exc).lower() or code in MYSQL_RETRY_CODES
