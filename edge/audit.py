"""The edge's audit log: who started and ended sessions, and who put which reading on which resident.

Append-only rows in the ``audit`` table of the edge database. Subjects are pseudonyms; an actor is a
device (``reader:<device>``), the kiosk page (``kiosk-page``), the edge itself (``edge``: timeouts,
restarts) or a member of staff (``staff:<name>``, as given to the staff API). Rows that belong with
an outbox message (an unbound reading, an assignment, a nurse call) are written in the outbox's
transaction by passing its connection; the others through this log's own connection.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from edge.edge_db import connect, from_text, to_text

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    actor TEXT NOT NULL,
    session_id TEXT,
    subject TEXT,
    previous_subject TEXT,
    reading_id TEXT,
    envelope_id TEXT,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE INDEX IF NOT EXISTS audit_session ON audit (session_id, event) WHERE session_id IS NOT NULL;
"""

AuditEvent = Literal[
    "session_started",
    "session_ended",
    "card_unknown",
    "unbound_recorded",
    "assigned",
    "reassigned",
    "nurse_called",
]
EDGE_ACTOR = "edge"
PAGE_ACTOR = "kiosk-page"


def reader_actor(device_id: str) -> str:
    return f"reader:{device_id}"


def staff_actor(name: str) -> str:
    return f"staff:{name}"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    event: AuditEvent
    at: datetime
    """Aware; stored in UTC."""
    actor: str
    session_id: str | None = None
    subject: str | None = None
    previous_subject: str | None = None
    """For a reassignment: the subject the reading had before."""
    reading_id: str | None = None
    """The envelope ID under which the reading was first published."""
    envelope_id: str | None = None
    """The envelope this event produced (a correction, a call)."""
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RecordedSession:
    session_id: str
    subject: str
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None


class AuditLog:
    def __init__(self, path: Path) -> None:
        self._db = connect(path, SCHEMA)

    def record(self, entry: AuditEntry, db: sqlite3.Connection | None = None) -> None:
        """Append ``entry``; with ``db`` inside that connection's open transaction, else at once.

        Raises ``sqlite3.Error`` when it cannot be written.
        """
        (db or self._db).execute(
            "INSERT INTO audit (at, event, actor, session_id, subject, previous_subject, reading_id, "
            "envelope_id, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                to_text(entry.at),
                entry.event,
                entry.actor,
                entry.session_id,
                entry.subject,
                entry.previous_subject,
                entry.reading_id,
                entry.envelope_id,
                entry.reason,
            ),
        )

    def entries(self, limit: int, reading_id: str | None = None) -> list[AuditEntry]:
        """The newest ``limit`` entries (of one reading, if given), newest first."""
        rows = self._db.execute(
            "SELECT event, at, actor, session_id, subject, previous_subject, reading_id, envelope_id, reason "
            "FROM audit WHERE ? IS NULL OR reading_id = ? ORDER BY id DESC LIMIT ?",
            (reading_id, reading_id, limit),
        ).fetchall()
        return [AuditEntry(row[0], from_text(row[1]), *row[2:]) for row in rows]

    def sessions_since(self, since: datetime) -> list[RecordedSession]:
        """Sessions still open or ended at or after ``since``, oldest first, as the log recorded them."""
        rows = self._db.execute(
            "SELECT s.session_id, s.subject, s.at, e.at, e.reason FROM audit s "
            "LEFT JOIN audit e ON e.session_id = s.session_id AND e.event = 'session_ended' "
            "WHERE s.event = 'session_started' AND (e.at IS NULL OR e.at >= ?) ORDER BY s.at",
            (to_text(since),),
        ).fetchall()
        return [
            RecordedSession(row[0], row[1], from_text(row[2]), from_text(row[3]) if row[3] else None, row[4])
            for row in rows
        ]

    def close(self) -> None:
        self._db.close()
