"""A side-effect ledger in SQLite: every run of a key is logged, its effect is stored once.

The ledger is what fault drills score: a key with no effect is a lost task, a key with
two runs was redelivered (allowed: delivery is at least once), and an effect can never
be stored twice because its key is the primary key (the idempotent-consumer pattern).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

SETUP_SECONDS = 30.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    task_id TEXT,
    phase TEXT NOT NULL,
    redelivered INTEGER NOT NULL DEFAULT 0,
    pid INTEGER NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_key ON runs (key);
CREATE TABLE IF NOT EXISTS effects (
    key TEXT PRIMARY KEY,
    task_id TEXT,
    pid INTEGER NOT NULL,
    at REAL NOT NULL
);
"""


class Ledger:
    """One SQLite file shared by every worker process of a drill."""

    def __init__(self, path: Path) -> None:
        self.path = path
        deadline = time.monotonic() + SETUP_SECONDS
        while True:
            try:
                with self._connect() as connection:
                    # Switching to WAL needs a moment alone with the file, and SQLite answers
                    # "database is locked" at once rather than waiting when several worker
                    # processes open a new ledger together: retry until one has done it.
                    connection.execute("PRAGMA journal_mode=WAL")
                    connection.executescript(SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A short-lived autocommit connection (the file is in WAL mode: safe across processes and kills)."""
        with closing(sqlite3.connect(self.path, timeout=60, isolation_level=None)) as connection:
            connection.execute("PRAGMA synchronous=NORMAL")
            yield connection

    def run(self, key: str, task_id: str | None, phase: str, *, redelivered: bool = False) -> int:
        """Log a phase of a run (start, cleanup); returns how many runs of the key have started."""
        with self._connect() as connection:
            connection.execute(
                "INSERT INTO runs (key, task_id, phase, redelivered, pid, at) VALUES (?, ?, ?, ?, ?, ?)",
                (key, task_id, phase, int(redelivered), os.getpid(), time.time()),
            )
            (count,) = connection.execute(
                "SELECT COUNT(*) FROM runs WHERE key = ? AND phase = 'start'", (key,)
            ).fetchone()
        return int(count)

    def effect(self, key: str, task_id: str | None) -> bool:
        """Store the key's side effect unless it is already there; True when this call stored it."""
        with self._connect() as connection:
            cursor = connection.execute(
                "INSERT OR IGNORE INTO effects (key, task_id, pid, at) VALUES (?, ?, ?, ?)",
                (key, task_id, os.getpid(), time.time()),
            )
            return cursor.rowcount == 1
