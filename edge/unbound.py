"""Readings that could not be attributed to a resident, kept for staff to assign.

A reading without a subject that no session explains is published as it is (subject null) and
recorded here in the same transaction, with the envelope as published, so staff can assign it
later even after the outbox has purged it. An assignment does not rewrite history: it publishes a
correction (``Envelope.supersedes``) and this table remembers the latest envelope of the reading.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from careedge_common.envelope import Envelope
from edge.edge_db import connect, from_text, to_text

SCHEMA = """
CREATE TABLE IF NOT EXISTS unbound (
    reading_id TEXT PRIMARY KEY,
    device TEXT NOT NULL,
    measured_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    envelope BLOB NOT NULL,
    latest_id TEXT NOT NULL,
    subject TEXT,
    assigned_at TEXT,
    assigned_by TEXT
);
CREATE INDEX IF NOT EXISTS unbound_waiting ON unbound (measured_at) WHERE subject IS NULL;
"""
_SELECT = (
    "SELECT reading_id, device, measured_at, recorded_at, reason, envelope, latest_id, subject, assigned_at, "
    "assigned_by FROM unbound "
)


@dataclass(frozen=True, slots=True)
class UnboundReading:
    reading_id: str
    """The envelope ID the reading was first published under."""
    device: str
    measured_at: datetime
    recorded_at: datetime
    reason: str
    """Why no session explained it (``edge.sessions.UnboundReason``)."""
    envelope: Envelope
    """As first published, subject null."""
    latest_id: str
    """The newest envelope of this reading: the original, or the last correction."""
    subject: str | None
    """Assigned subject; None while it waits for staff."""
    assigned_at: datetime | None
    assigned_by: str | None


class UnboundStore:
    def __init__(self, path: Path) -> None:
        self._db = connect(path, SCHEMA)

    def record(
        self, db: sqlite3.Connection, envelope_payload: bytes, envelope: Envelope, reason: str, at: datetime
    ) -> None:
        """Inside the outbox's transaction (``db``): remember a reading just stored unbound."""
        db.execute(
            "INSERT INTO unbound (reading_id, device, measured_at, recorded_at, reason, envelope, latest_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                envelope.id,
                envelope.device,
                to_text(envelope.measured_at),
                to_text(at),
                reason,
                envelope_payload,
                envelope.id,
            ),
        )

    def mark_assigned(
        self,
        db: sqlite3.Connection,
        reading_id: str,
        subject: str,
        envelope_id: str,
        actor: str,
        at: datetime,
    ) -> None:
        """Inside the outbox's transaction (``db``): the correction ``envelope_id`` now speaks for it."""
        db.execute(
            "UPDATE unbound SET subject = ?, latest_id = ?, assigned_at = ?, assigned_by = ? "
            "WHERE reading_id = ?",
            (subject, envelope_id, to_text(at), actor, reading_id),
        )

    def get(self, reading_id: str) -> UnboundReading | None:
        row = self._db.execute(_SELECT + "WHERE reading_id = ?", (reading_id,)).fetchone()
        return None if row is None else _reading(row)

    def waiting_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM unbound WHERE subject IS NULL").fetchone()[0])

    def list(self, *, include_assigned: bool, limit: int) -> list[UnboundReading]:
        """Newest measurement first; only those waiting for staff unless ``include_assigned``."""
        rows = self._db.execute(
            _SELECT + "WHERE ? OR subject IS NULL ORDER BY measured_at DESC LIMIT ?",
            (include_assigned, limit),
        ).fetchall()
        return [_reading(row) for row in rows]

    def close(self) -> None:
        self._db.close()


def _reading(row: tuple[object, ...]) -> UnboundReading:
    (reading_id, device, measured_at, recorded_at, reason, payload, latest_id, subject, assigned_at, by) = row
    assert isinstance(payload, bytes)
    return UnboundReading(
        reading_id=str(reading_id),
        device=str(device),
        measured_at=from_text(str(measured_at)),
        recorded_at=from_text(str(recorded_at)),
        reason=str(reason),
        envelope=Envelope.model_validate_json(payload),
        latest_id=str(latest_id),
        subject=None if subject is None else str(subject),
        assigned_at=None if assigned_at is None else from_text(str(assigned_at)),
        assigned_by=None if by is None else str(by),
    )
