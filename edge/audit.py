"""The edge's audit log: sessions, who put which reading on which resident, and every cabinet
dispense, refill, door event and command.

Append-only rows in the ``audit`` table of the edge database, hash-chained (``edge.audit_chain``):
``careedge audit verify`` finds the first row that was changed, deleted or inserted by hand.
Subjects are pseudonyms; an actor is a device (``reader:<device>``, ``cabinet:<device>``), the kiosk
page (``kiosk-page``), the edge itself (``edge``: timeouts, restarts, schedules), a member of staff
(``staff:<name>``), a pharmacist (``pharmacist:<name>``), the cloud (``cloud``: commands) or, on
``api_request`` rows, the API token of a state-changing request (``<role>:<name>``). Rows
that belong with an outbox message (an unbound reading, an assignment, a nurse call, a cabinet
event) are written in the outbox's transaction by passing its connection; the others through this
log's own connection. Either way the chain's head is read and extended inside one write
transaction, so two connections can never fork it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from edge.audit_chain import GENESIS, chain_rows, row_hash
from edge.edge_db import Transaction, connect, from_text, to_text

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
    reason TEXT,
    detail TEXT,
    prev_hash TEXT,
    hash TEXT
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
    "command_received",
    "dose_scheduled",
    "command_repeated",
    "dose_identified",
    "drawer_unlocked",
    "dispensed",
    "refused",
    "missed",
    "dispense_fault",
    "refill_opened",
    "refill_recorded",
    "refill_mismatch",
    "refill_closed",
    "door_opened",
    "door_closed",
    "temperature_excursion",
    "cabinet_fault",
    "token_created",
    "api_request",
]
EDGE_ACTOR = "edge"
PAGE_ACTOR = "kiosk-page"
CLOUD_ACTOR = "cloud"
CHAIN_COLUMNS = ("detail", "prev_hash", "hash")
"""Added by the hash chain; a database from before it gets them, and its rows sealed, on open."""


def reader_actor(device_id: str) -> str:
    return f"reader:{device_id}"


def staff_actor(name: str) -> str:
    return f"staff:{name}"


def cabinet_actor(device_id: str) -> str:
    return f"cabinet:{device_id}"


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
    detail: Mapping[str, Any] | None = None
    """Cabinet facts (cabinet, slot, counts, lot, command ID...): JSON, covered by the chain."""


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
        _add_chain(self._db)

    def record(self, entry: AuditEntry, db: sqlite3.Connection | None = None) -> None:
        """Append ``entry`` to the chain; with ``db`` inside that connection's open write
        transaction (``BEGIN IMMEDIATE``), else in a transaction of its own.

        Raises ``sqlite3.Error`` when it cannot be written.
        """
        if db is not None:
            _append(db, entry)
            return
        with Transaction(self._db):
            _append(self._db, entry)

    def entries(self, limit: int, reading_id: str | None = None) -> list[AuditEntry]:
        """The newest ``limit`` entries (of one reading, if given), newest first."""
        rows = self._db.execute(
            "SELECT event, at, actor, session_id, subject, previous_subject, reading_id, envelope_id, "
            "reason, detail FROM audit WHERE ? IS NULL OR reading_id = ? ORDER BY id DESC LIMIT ?",
            (reading_id, reading_id, limit),
        ).fetchall()
        return [
            AuditEntry(
                row[0],
                from_text(row[1]),
                actor=row[2],
                session_id=row[3],
                subject=row[4],
                previous_subject=row[5],
                reading_id=row[6],
                envelope_id=row[7],
                reason=row[8],
                detail=json.loads(row[9]) if row[9] else None,
            )
            for row in rows
        ]

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


def _append(db: sqlite3.Connection, entry: AuditEntry) -> None:
    head = db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    row_id, prev_hash = (1, GENESIS) if head is None else (int(head[0]) + 1, head[1])
    detail = None if entry.detail is None else json.dumps(entry.detail, sort_keys=True, ensure_ascii=False)
    content = (
        row_id,
        to_text(entry.at),
        entry.event,
        entry.actor,
        entry.session_id,
        entry.subject,
        entry.previous_subject,
        entry.reading_id,
        entry.envelope_id,
        entry.reason,
        detail,
    )
    db.execute(
        "INSERT INTO audit (id, at, event, actor, session_id, subject, previous_subject, reading_id, "
        "envelope_id, reason, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*content, prev_hash, row_hash(prev_hash, content)),
    )


def _add_chain(db: sqlite3.Connection) -> None:
    """Migrate a database from before the chain: add its columns and seal the existing rows in id
    order, once, in one transaction (a crash leaves the old table as it was)."""
    present = {row[1] for row in db.execute("PRAGMA table_info(audit)")}
    missing = [column for column in CHAIN_COLUMNS if column not in present]
    if not missing:
        return
    with Transaction(db):
        for column in missing:
            db.execute(f"ALTER TABLE audit ADD COLUMN {column} TEXT")
        prev_hash = GENESIS
        for row in list(chain_rows(db)):
            content = row[:-2]
            sealed = row_hash(prev_hash, content)
            db.execute(
                "UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev_hash, sealed, content[0])
            )
            prev_hash = sealed
