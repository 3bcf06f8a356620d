"""Tables shared by the services that store data (install ``celery-tasks[storage]``).

Like the task contracts, these are a contract between services: the crawler writes
documents, the ETL reads them and writes keyword counts, the alert service records each
mail it sent. SQLite file by default; any SQLAlchemy URL by ``CELERY_TASKS_DATABASE_URL``.

Tested on SQLite, PostgreSQL and MySQL 8 / MariaDB (``mysql+pymysql://user:pw@host/db``):
on MySQL every table is ``utf8mb4`` with the binary collation (so Chinese text round-trips
and keys compare exactly, as on the other two), sessions run at READ COMMITTED like
PostgreSQL's default, and ``documents.url`` is kept unique through a stored SHA-256 of it
(an index on 2048 characters is longer than InnoDB allows).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    event,
    func,
    insert,
    make_url,
    text,
    true,
    update,
)
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker


class StorageSettings(BaseSettings):
    """Where the shared tables live."""

    model_config = SettingsConfigDict(env_prefix="CELERY_TASKS_", env_file=".env", extra="ignore", frozen=True)

    database_url: str = "sqlite:///celery_tasks.db"


MYSQL = ("mysql", "mariadb")


def _on_mysql(*_args: Any, dialect: Any, **_kwargs: Any) -> bool:
    """DDL condition: the database is MySQL or MariaDB."""
    return dialect.name in MYSQL


def _not_on_mysql(*args: Any, dialect: Any, **kwargs: Any) -> bool:
    """DDL condition: any other database."""
    return not _on_mysql(*args, dialect=dialect, **kwargs)


MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
#: Long text: MySQL's TEXT holds only 64 KiB.
LongText = Text().with_variant(mysql.LONGTEXT(), *MYSQL)


class Base(DeclarativeBase):
    """Declarative base of the shared tables."""


class Document(Base):
    """One crawled page or feed entry, one row per normalised URL."""

    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_url", "url", unique=True).ddl_if(callable_=_not_on_mysql),
        Index("ix_documents_url_prefix", "url", mysql_length=255).ddl_if(callable_=_on_mysql),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    source: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(1000))
    text: Mapped[str] = mapped_column(LongText, default="")
    content_hash: Mapped[str | None] = mapped_column(String(64))
    links: Mapped[int] = mapped_column(Integer, default=0)
    day: Mapped[dt.date] = mapped_column(Date, index=True, doc="Publication day, else the fetch day.")
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TrackedKeyword(Base):
    """A keyword the ETL counts, with its aliases; inactive once it leaves the keywords file (history kept)."""

    __tablename__ = "tracked_keywords"
    __table_args__ = MYSQL_TABLE

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    keyword: Mapped[str] = mapped_column(String(200), unique=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true(), index=True)
    counts: Mapped[list[KeywordCount]] = relationship(back_populates="keyword", cascade="all, delete-orphan")


class KeywordCount(Base):
    """How many documents of one day mention a keyword (0 included: a row means the day was mapped)."""

    __tablename__ = "keyword_counts"
    __table_args__ = (UniqueConstraint("keyword_id", "day", name="uq_keyword_counts_keyword_day"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    keyword_id: Mapped[int] = mapped_column(ForeignKey("tracked_keywords.id", ondelete="CASCADE"), index=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    count: Mapped[int] = mapped_column(Integer)
    keyword: Mapped[TrackedKeyword] = relationship(back_populates="counts")


class SentAlert(Base):
    """An alert mail sent for one keyword and day; the unique key makes sending at most once."""

    __tablename__ = "sent_alerts"
    __table_args__ = (UniqueConstraint("keyword", "day", name="uq_sent_alerts_keyword_day"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    keyword: Mapped[str] = mapped_column(String(200))
    day: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), default="sending")
    message_id: Mapped[str | None] = mapped_column(String(300))
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# MySQL: the unique key on documents.url, through a stored hash of the URL.
event.listen(
    Document.__table__,
    "after_create",
    DDL(  # type: ignore[no-untyped-call]
        "ALTER TABLE documents ADD COLUMN url_sha256 BINARY(32) AS (UNHEX(SHA2(url, 256))) STORED, "
        "ADD UNIQUE KEY uq_documents_url_sha256 (url_sha256)"
    ).execute_if(callable_=_on_mysql),
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    """An engine for the shared tables (WAL and a busy timeout on SQLite; utf8mb4 and READ COMMITTED on MySQL)."""
    url = url or StorageSettings().database_url
    if make_url(url).get_backend_name() in MYSQL:
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_recycle=3600,
            isolation_level="READ COMMITTED",
            connect_args={"charset": "utf8mb4"},
        )
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def create_schema(engine: Engine) -> None:
    """Create the shared tables that do not exist yet."""
    Base.metadata.create_all(engine)


def upsert(
    session: Session,
    model: type[Base],
    rows: Sequence[Mapping[str, Any]],
    *,
    keys: Sequence[str],
    update_columns: Sequence[str],
) -> None:
    """Insert ``rows``, overwriting ``update_columns`` of rows that already exist with the same ``keys``.

    One ``INSERT ... ON CONFLICT (keys) DO UPDATE`` statement on PostgreSQL and SQLite,
    ``INSERT ... ON DUPLICATE KEY UPDATE`` on MySQL/MariaDB (``keys`` must be a unique
    constraint), so that two workers writing the same rows at once both succeed; rows go
    in key order, so that two such writers lock them in the same order. Other databases
    update, then insert what was missing, row by row.
    """
    if not rows:
        return
    rows = sorted(rows, key=lambda row: tuple(row[key] for key in keys))
    dialect = session.get_bind().dialect.name
    if dialect in MYSQL:
        inserting = mysql.insert(model)
        session.execute(
            inserting.on_duplicate_key_update({column: inserting.inserted[column] for column in update_columns}),
            rows,
        )
        return
    if dialect in {"postgresql", "sqlite"}:
        statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=list(keys),
                set_={column: statement.excluded[column] for column in update_columns},
            ),
            rows,
        )
        return
    columns = model.__table__.c
    for row in rows:
        match = and_(*(columns[key] == row[key] for key in keys))
        changed = session.execute(update(model).where(match).values({c: row[c] for c in update_columns}))
        if not changed.rowcount:  # type: ignore[attr-defined]
            session.execute(insert(model).values(dict(row)))


@contextmanager
def scratch_database(admin_url: str, prefix: str = "scratch") -> Iterator[str]:
    """A new, empty PostgreSQL or MySQL database for tests and benchmarks, dropped on exit; yields its URL.

    ``admin_url`` is any database on the server that the user may connect to (for
    example ``postgresql+psycopg://postgres@127.0.0.1:5432/test`` or
    ``mysql+pymysql://root@127.0.0.1:3306/test``).
    """
    base = make_url(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    on_mysql = base.get_backend_name() in MYSQL
    create = (
        f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        if on_mysql
        else f'CREATE DATABASE "{name}"'
    )
    drop = f"DROP DATABASE IF EXISTS `{name}`" if on_mysql else f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(create))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(drop))
    finally:
        admin.dispose()


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
