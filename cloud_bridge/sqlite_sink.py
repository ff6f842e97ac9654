"""Points to a local SQLite file, for one-machine sites without a time-series server.

The table's primary key is the point key, so ``INSERT OR REPLACE`` makes re-delivery idempotent
exactly like the InfluxDB write API. ``synchronous=FULL``: a point is on disk before its MQTT
message is acknowledged. An absent subject is stored as the empty string (a key column cannot be
NULL).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from cloud_bridge.points import VitalPoint
from cloud_bridge.sink import SinkUnavailableError

SCHEMA = """
CREATE TABLE IF NOT EXISTS vitals (
    site TEXT NOT NULL,
    gateway TEXT NOT NULL,
    device TEXT NOT NULL,
    subject TEXT NOT NULL,
    code TEXT NOT NULL,
    unit TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (site, gateway, device, subject, code, unit, time_ms)
) WITHOUT ROWID
"""

_UPSERT = (
    "INSERT OR REPLACE INTO vitals (site, gateway, device, subject, code, unit, time_ms, value)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


class SqlitePointSink:
    """Used from one thread at a time (the bridge's writer)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(SCHEMA)

    def write(self, points: Sequence[VitalPoint]) -> None:
        rows = [
            (p.site, p.gateway, p.device, p.subject or "", p.code, p.unit, p.time_ms, p.value) for p in points
        ]
        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(_UPSERT, rows)
        except sqlite3.Error as exc:
            raise SinkUnavailableError(f"SQLite write failed: {exc}") from exc

    def close(self) -> None:
        self._db.close()
