"""Tables shared by the services that store data (the ``task-storage`` distribution).

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
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    true,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

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
