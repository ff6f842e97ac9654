"""Read-only queries over the residents' readings the bridge keeps in its relational store.

The ``readings`` table (``alert_store``) holds one row per observation of a bound reading, in the
code's canonical unit (validation rejects another unit for a known code), for
``alerts.rules.readings_retention_days``; the time-series server keeps the long history. Codes
outside ``careedge_common.codes`` have no known unit here and are served with ``unit`` None.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from careedge_common.codes import BY_CODE
from careedge_common.epoch import epoch_ms
from cloud_bridge.alert_store import from_ms


@dataclass(frozen=True, slots=True)
class StoredReading:
    reading_id: str
    """The envelope ID: observations measured together share it."""
    subject: str
    code: str
    value: float
    measured_at: datetime

    @property
    def unit(self) -> str | None:
        kind = BY_CODE.get(self.code)
        return None if kind is None else kind.unit

    @property
    def name(self) -> str | None:
        kind = BY_CODE.get(self.code)
        return None if kind is None else kind.name


@dataclass(frozen=True, slots=True)
class ReadingFilter:
    """Times are UTC-aware and inclusive; empty ``codes`` means every code."""

    subject: str | None = None
    codes: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 1000


def find_readings(db: sqlite3.Connection, where: ReadingFilter) -> list[StoredReading]:
    """Oldest first (the order a trend is drawn in); at most ``limit`` rows, the newest ones."""
    clauses: list[str] = []
    params: list[str | int] = []
    if where.subject is not None:
        clauses.append("subject = ?")
        params.append(where.subject)
    if where.codes:
        clauses.append(f"code IN ({','.join('?' * len(where.codes))})")
        params.extend(where.codes)
    if where.since is not None:
        clauses.append("measured_at_ms >= ?")
        params.append(epoch_ms(where.since))
    if where.until is not None:
        clauses.append("measured_at_ms <= ?")
        params.append(epoch_ms(where.until))
    condition = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    query = (
        "SELECT reading_id, subject, code, value, measured_at_ms FROM readings"  # noqa: S608
        f" {condition} ORDER BY measured_at_ms DESC, reading_id DESC, code LIMIT ?"
    )
    rows = db.execute(query, [*params, where.limit]).fetchall()
    return [
        StoredReading(reading_id, subject, code, value, from_ms(at_ms))
        for reading_id, subject, code, value, at_ms in reversed(rows)
    ]
