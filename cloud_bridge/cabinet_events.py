"""Cabinet events (dispensed, refused, missed, refill, door, temperature, fault) kept in the
bridge's relational store, written inside the batch transaction that marks them processed, so a
re-delivered event is stored once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from careedge_common.envelope import Envelope

SCHEMA = """
CREATE TABLE IF NOT EXISTS cabinet_events (
    id TEXT PRIMARY KEY,
    gateway TEXT NOT NULL,
    cabinet TEXT NOT NULL,
    event TEXT NOT NULL,
    subject TEXT,
    measured_at_ms INTEGER NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cabinet_events_by_time ON cabinet_events (measured_at_ms);
"""


def record(db: sqlite3.Connection, envelopes: Iterable[Envelope]) -> None:
    """Store the ``cabinet_event`` envelopes among ``envelopes`` (inside a transaction)."""
    db.executemany(
        "INSERT OR IGNORE INTO cabinet_events (id, gateway, cabinet, event, subject, measured_at_ms,"
        " document) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            (
                event.id,
                event.gateway,
                event.device,
                str((event.data or {}).get("event")),
                event.subject,
                event.measured_at_ms,
                event.model_dump_json(),
            )
            for event in envelopes
            if event.type == "cabinet_event"
        ),
    )


def newest(db: sqlite3.Connection, limit: int) -> list[Envelope]:
    rows = db.execute(
        "SELECT document FROM cabinet_events ORDER BY measured_at_ms DESC, id DESC LIMIT ?", (limit,)
    ).fetchall()
    return [Envelope.model_validate_json(row[0]) for row in rows]
