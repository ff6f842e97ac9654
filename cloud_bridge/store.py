"""The bridge's relational store (SQLite, WAL): stored alerts and processed envelope IDs.

A batch's alerts and its envelope IDs are committed in one transaction after its points are in
the time-series store. Alerts are unique per (reading, code): if two bridges on the shared
subscription both process a re-delivered envelope, only the first insert wins and only that
bridge publishes the alert. ``synchronous=FULL``, because the MQTT messages are acknowledged
right after the commit.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from cloud_bridge import seq_tracking
from cloud_bridge.alert import Alert, Severity
from cloud_bridge.points import epoch_ms
from cloud_bridge.seq_tracking import SeqMark

SCHEMA = """
CREATE TABLE IF NOT EXISTS processed (
    envelope_id TEXT PRIMARY KEY,
    processed_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS processed_by_age ON processed (processed_at_ms);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    reading_id TEXT NOT NULL,
    code TEXT NOT NULL,
    severity TEXT NOT NULL,
    subject TEXT,
    raised_at_ms INTEGER NOT NULL,
    document TEXT NOT NULL,
    UNIQUE (reading_id, code)
);
CREATE INDEX IF NOT EXISTS alerts_by_time ON alerts (raised_at_ms);
"""

LOOKUP_CHUNK = 500
"""IDs per ``IN (…)`` query, well under SQLite's bound-parameter limit."""


class BridgeStore:
    """Thread-safe: the writer thread records batches while API threads list alerts."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA + seq_tracking.SCHEMA)

    def unprocessed(self, envelope_ids: Collection[str]) -> set[str]:
        """The subset of ``envelope_ids`` not yet recorded as processed."""
        ids = list(envelope_ids)
        seen: set[str] = set()
        with self._lock:
            for start in range(0, len(ids), LOOKUP_CHUNK):
                chunk = ids[start : start + LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT envelope_id FROM processed WHERE envelope_id IN ({marks})"  # noqa: S608
                seen.update(row[0] for row in self._db.execute(query, chunk))
        return set(ids) - seen

    def record(
        self,
        envelope_ids: Iterable[str],
        alerts: Iterable[Alert],
        now: datetime,
        seqs: Iterable[SeqMark] = (),
    ) -> list[Alert]:
        """Mark envelopes processed, with their gateways' seqs, and store their alerts; return the
        alerts that were new.

        Raises ``sqlite3.Error`` with nothing committed.
        """
        now_ms = epoch_ms(now)
        new: list[Alert] = []
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR IGNORE INTO processed (envelope_id, processed_at_ms) VALUES (?, ?)",
                ((envelope_id, now_ms) for envelope_id in envelope_ids),
            )
            seq_tracking.record_seqs(self._db, seqs, now_ms)
            for alert in alerts:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO alerts"
                    " (id, reading_id, code, severity, subject, raised_at_ms, document)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        alert.id,
                        alert.reading_id,
                        alert.code,
                        alert.severity,
                        alert.subject,
                        epoch_ms(alert.raised_at),
                        alert.model_dump_json(),
                    ),
                )
                if cursor.rowcount == 1:
                    new.append(alert)
        return new

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): committed when the block ends, rolled back
        if it raises."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            yield self._db

    def alerts(
        self,
        *,
        severity: Severity | None = None,
        subject: str | None = None,
        since: datetime | None = None,
        limit: int,
    ) -> list[Alert]:
        """Newest first. ``since`` (UTC-aware) is inclusive and compares with ``raised_at``."""
        clauses: list[str] = []
        params: list[str | int] = []
        if severity is not None:
            clauses.append("severity = ?")
            params.append(severity)
        if subject is not None:
            clauses.append("subject = ?")
            params.append(subject)
        if since is not None:
            clauses.append("raised_at_ms >= ?")
            params.append(epoch_ms(since))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        query = f"SELECT document FROM alerts {where} ORDER BY raised_at_ms DESC, id DESC LIMIT ?"  # noqa: S608
        with self._lock:
            rows = self._db.execute(query, [*params, limit]).fetchall()
        return [Alert.model_validate_json(row[0]) for row in rows]

    def prune_processed(self, older_than: datetime) -> int:
        """Forget envelope IDs processed before ``older_than``; return how many."""
        with self._lock, self._db:
            cursor = self._db.execute(
                "DELETE FROM processed WHERE processed_at_ms < ?", (epoch_ms(older_than),)
            )
        return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()
