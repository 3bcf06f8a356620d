"""Race-safe inserts that overwrite existing rows, one statement per dialect."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, insert, update
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.orm import Session

from task_storage.tables import MYSQL, Base


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
