"""The SQLAlchemy tables shared by the crawler, the ETL and the alert service, and their engine helpers."""

from task_storage.engine import StorageSettings, create_schema, make_engine, scratch_database, session_scope
from task_storage.errors import TaskStorageError
from task_storage.tables import Base, Document, KeywordCount, SentAlert, TrackedKeyword
from task_storage.upsert import upsert

__all__ = [
    "Base",
    "Document",
    "KeywordCount",
    "SentAlert",
    "StorageSettings",
    "TaskStorageError",
    "TrackedKeyword",
    "create_schema",
    "make_engine",
    "scratch_database",
    "session_scope",
    "upsert",
]
