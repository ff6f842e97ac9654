"""The webhook delivery queue, a table of the relational store: it outlives a bridge restart.

A transition's deliveries are queued in the transaction that stores the transition, so none is
lost or invented. The dispatcher claims a due delivery by moving its next attempt a lease ahead
(another bridge on the same store then leaves it alone), sends it outside any transaction, and
records the outcome: delivered, retry at a later time, or given up after the last attempt.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from careedge_common.epoch import epoch_ms
from cloud_bridge.alert import Transition

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    route TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    transition_id INTEGER NOT NULL,
    body BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at_ms INTEGER NOT NULL,
    last_error TEXT,
    done_at_ms INTEGER
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_at_ms) WHERE state = 'pending';
"""


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    route: str
    alert_id: str
    body: bytes
    attempts: int
    """Attempts made before this one."""


def body_of(transition: Transition, route: str) -> bytes:
    """What the receiver gets: the route it was sent as, the transition and the alert after it."""
    document = {
        "route": route,
        "transition": transition.kind,
        "actor": transition.actor,
        "reading_ids": list(transition.reading_ids),
        "alert": transition.alert.model_dump(mode="json"),
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def enqueue(db: sqlite3.Connection, transition: Transition, transition_id: int, now: datetime) -> None:
    if not transition.routes:
        return
    db.executemany(
        "INSERT INTO deliveries (route, alert_id, transition_id, body, next_at_ms) VALUES (?, ?, ?, ?, ?)",
        (
            (route, transition.alert.id, transition_id, body_of(transition, route), epoch_ms(now))
            for route in transition.routes
        ),
    )


def claim_due(db: sqlite3.Connection, now: datetime, lease: timedelta, limit: int) -> list[Delivery]:
    """Due deliveries, oldest first, each leased until ``now + lease``."""
    rows = db.execute(
        "SELECT id, route, alert_id, body, attempts FROM deliveries"
        " WHERE state = 'pending' AND next_at_ms <= ? ORDER BY next_at_ms, id LIMIT ?",
        (epoch_ms(now), limit),
    ).fetchall()
    db.executemany(
        "UPDATE deliveries SET next_at_ms = ? WHERE id = ?", ((epoch_ms(now + lease), row[0]) for row in rows)
    )
    return [Delivery(row[0], row[1], row[2], bytes(row[3]), row[4]) for row in rows]


def delivered(db: sqlite3.Connection, delivery_id: int, now: datetime) -> None:
    db.execute(
        "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, done_at_ms = ?,"
        " last_error = NULL WHERE id = ?",
        (epoch_ms(now), delivery_id),
    )


def failed(db: sqlite3.Connection, delivery_id: int, error: str, retry_at: datetime | None) -> None:
    """Count the attempt; retry at ``retry_at``, or give up when it is None."""
    if retry_at is None:
        db.execute(
            "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?",
            (error, delivery_id),
        )
        return
    db.execute(
        "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_at_ms = ? WHERE id = ?",
        (error, epoch_ms(retry_at), delivery_id),
    )


def next_due(db: sqlite3.Connection) -> int | None:
    """Epoch ms of the earliest pending delivery, or None."""
    row = db.execute("SELECT MIN(next_at_ms) FROM deliveries WHERE state = 'pending'").fetchone()
    return None if row is None or row[0] is None else int(row[0])


def counts(db: sqlite3.Connection) -> dict[str, int]:
    return dict(db.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall())
