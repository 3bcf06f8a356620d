"""The replay journal: an fsync'd line per phase each parked message reached, so a crash is recovered."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

JOURNAL_ENV = "PRODUCER_REPLAY_JOURNAL_DIR"
JOURNAL_KEEP_DAYS = 30
#: Phases after which a parked copy is known to be moved (a copy still parked is a leftover).
DONE_PHASES = frozenset({"staged", "acked", "forwarded"})


def default_journal_dir() -> Path:
    """``$PRODUCER_REPLAY_JOURNAL_DIR``, else ``$XDG_STATE_HOME/celery-tasks/replay`` (~/.local/state)."""
    configured = os.environ.get(JOURNAL_ENV)
    if configured:
        return Path(configured)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "celery-tasks" / "replay"


class ReplayJournal:
    """An append-only file of fsync'd JSON lines: the last phase each parked message reached."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.phases: dict[str, dict[str, Any]] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            text = path.read_text(encoding="utf-8")
            if text and not text.endswith("\n"):  # a write torn by a crash: start the next record on a new line
                self._append("\n")
            for line in text.splitlines():
                with contextlib.suppress(ValueError):  # a line torn by a crash is ignored
                    record = json.loads(line)
                    if isinstance(record, dict) and "key" in record:
                        self.phases[str(record["key"])] = record

    @classmethod
    def for_contract(cls, directory: Path, vhost: str, contract: str) -> ReplayJournal:
        """The journal of one contract in one vhost."""
        return cls(directory / quote(vhost, safe="") / f"{contract}.jsonl")

    def phase(self, key: str) -> str | None:
        """The last phase journaled for a key."""
        record = self.phases.get(key)
        return None if record is None else str(record.get("phase"))

    def record(self, key: str, phase: str, **extra: Any) -> None:
        """Append one line and fsync it before returning."""
        record = {"key": key, "phase": phase, "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **extra}
        self._append(json.dumps(record, sort_keys=True) + "\n")
        self.phases[key] = record

    def _append(self, text: str) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())

    def compact(self, keep_days: int = JOURNAL_KEEP_DAYS) -> None:
        """Rewrite the file with the last line per key, dropping moves finished more than ``keep_days`` ago."""
        limit = (dt.datetime.now(dt.UTC) - dt.timedelta(days=keep_days)).isoformat(timespec="seconds")
        kept = [r for r in self.phases.values() if r.get("phase") != "forwarded" or str(r.get("at", "")) >= limit]
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, sort_keys=True) + "\n" for r in kept)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self.phases = {str(r["key"]): r for r in kept}
