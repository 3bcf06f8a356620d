"""The record of alerts sent: one ``SentAlert`` row per (keyword, day), claimed before the mail goes out.

The row is the decision. Inserting it is a single committed transaction and the table's
unique constraint on (keyword, day) lets exactly one inserter win, on SQLite (writes are
serialised) as on PostgreSQL (the second insert waits for the first to commit, then fails).

States: ``sending`` (claimed, mail not known to be out), ``sent`` (the server took it),
``uncertain`` (the connection broke while the server was taking it). A ``sending`` row is
deleted again when the server certainly refused the mail, so that a retry can send.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from task_storage import SentAlert, session_scope

logger = logging.getLogger(__name__)

SENDING = "sending"
SENT = "sent"
UNCERTAIN = "uncertain"
CLAIM_ATTEMPTS = 3


@dataclass(frozen=True)
class AlertRecord:
    """A SentAlert row, detached from its session."""

    id: int
    keyword: str
    day: dt.date
    state: str
    message_id: str | None
    recipients: list[str]
    created_at: dt.datetime | None

    @classmethod
    def of(cls, row: SentAlert) -> AlertRecord:
        """Copy the row's values."""
        return cls(row.id, row.keyword, row.day, row.state, row.message_id, list(row.recipients), row.created_at)


class AlertLedger:
    """Claims, confirms and releases the at-most-once record of each (keyword, day) alert."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)

    def find(self, keyword: str, day: dt.date) -> AlertRecord | None:
        """The record for this keyword and day, if any."""
        with self.sessions() as session:
            row = session.scalars(select(SentAlert).where(SentAlert.keyword == keyword, SentAlert.day == day)).first()
            return AlertRecord.of(row) if row else None

    def claim(self, keyword: str, day: dt.date, message_id: str, recipients: Sequence[str]) -> tuple[bool, AlertRecord]:
        """Insert the ``sending`` row: (True, it) when this caller won, (False, the other's) when it existed."""
        for _ in range(CLAIM_ATTEMPTS):
            try:
                with session_scope(self.sessions) as session:
                    row = SentAlert(
                        keyword=keyword, day=day, state=SENDING, message_id=message_id, recipients=list(recipients)
                    )
                    session.add(row)
                    session.flush()
                    record = AlertRecord.of(row)
            except IntegrityError:
                existing = self.find(keyword, day)
                if existing is not None:
                    return False, existing
                continue  # released between our insert and our read: try again
            return True, record
        raise RuntimeError(f"could not claim the alert for {keyword!r} on {day}: claimed and released repeatedly")

    def mark(self, record_id: int, state: str, recipients: Sequence[str] | None = None) -> None:
        """Move a claimed row to ``sent`` or ``uncertain``."""
        values: dict[str, object] = {"state": state}
        if recipients is not None:
            values["recipients"] = list(recipients)
        with session_scope(self.sessions) as session:
            session.execute(update(SentAlert).where(SentAlert.id == record_id).values(**values))

    def release(self, record_id: int) -> bool:
        """Delete a ``sending`` claim (the mail certainly did not go out); False when it was not there."""
        with session_scope(self.sessions) as session:
            result = session.execute(delete(SentAlert).where(SentAlert.id == record_id, SentAlert.state == SENDING))
            return bool(getattr(result, "rowcount", 0))
