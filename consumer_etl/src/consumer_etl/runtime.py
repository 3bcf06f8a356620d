"""Per-process state of the ETL worker: settings, the database engine and the keyword source."""

from __future__ import annotations

import functools
import os

from celery_tasks.settings import read_settings
from sqlalchemy import Engine

from consumer_etl.errors import EtlConfigurationError
from consumer_etl.keywords import KeywordSource, sync_keywords
from consumer_etl.settings import EtlSettings
from task_storage import create_schema, make_engine


@functools.cache
def settings() -> EtlSettings:
    """The ETL settings, read once per process."""
    return read_settings(EtlSettings, "ETL_", EtlConfigurationError, "ETL settings")


@functools.cache
def keyword_source() -> KeywordSource:
    """The keywords and stopwords files of the settings (re-read when they change)."""
    current = settings()
    return KeywordSource(current.keywords_file, current.stopwords_file)


_engines: dict[int, Engine] = {}


def engine() -> Engine:
    """This process's engine on CELERY_TASKS_DATABASE_URL (a forked child makes its own)."""
    pid = os.getpid()
    if pid not in _engines:
        _engines.clear()  # an engine inherited across fork must not be used by the child
        _engines[pid] = make_engine()
    return _engines[pid]


def prepare() -> list[str]:
    """Create the tables and sync the keywords file (fail fast at worker start); returns the keywords."""
    database = make_engine()
    try:
        create_schema(database)
        specs, _ = keyword_source().load()
        return sorted(sync_keywords(database, specs))
    finally:
        database.dispose()
