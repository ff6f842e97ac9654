"""The bridge's relational store (SQLite, WAL): processed envelope IDs and everything alerts need.

A batch's envelope IDs, residents' readings, alert transitions and webhook deliveries commit in
one transaction after its points are in the time-series store (``transaction``). Marking IDs
processed inside that transaction tells which envelopes are fresh, so if two bridges on the
shared subscription both get a re-delivered envelope, only the first evaluates it and only that
one publishes. ``synchronous=FULL``, because the MQTT messages are acknowledged right after the
commit. A store written by an earlier version keeps its old alerts table as ``alerts_v1``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from careedge_common.epoch import epoch_ms
from cloud_bridge import (
    alert_store,
    cabinet_events,
    device_seen,
    replay_requests,
    seq_tracking,
    webhook_queue,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS processed (
    envelope_id TEXT PRIMARY KEY,
    processed_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS processed_by_age ON processed (processed_at_ms);
"""
SCHEMA_VERSION = 2
"""``PRAGMA user_version``: 2 since alerts have a lifecycle (version 1 stored one row per reading)."""

LOOKUP_CHUNK = 500
"""IDs per ``IN (…)`` query, well under SQLite's bound-parameter limit."""


def mark_processed(db: sqlite3.Connection, envelope_ids: Iterable[str], now: datetime) -> set[str]:
    """Record the IDs as processed; returns those that were not already (inside a transaction).
    ``RETURNING`` names only the rows inserted (SQLite 3.35+)."""
    now_ms = epoch_ms(now)
    ids = list(envelope_ids)
    fresh: set[str] = set()
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        values = ",".join("(?, ?)" for _ in chunk)
        query = (
            f"INSERT INTO processed (envelope_id, processed_at_ms) VALUES {values}"  # noqa: S608
            " ON CONFLICT DO NOTHING RETURNING envelope_id"
        )
        fresh.update(
            row[0]
            for row in db.execute(query, [value for envelope_id in chunk for value in (envelope_id, now_ms)])
        )
    return fresh


class BridgeStore:
    """Thread-safe: the writer thread commits batches while API threads read and act on alerts."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._migrate()
        self._db.executescript(
            SCHEMA
            + seq_tracking.SCHEMA
            + replay_requests.SCHEMA
            + alert_store.SCHEMA
            + webhook_queue.SCHEMA
            + cabinet_events.SCHEMA
            + device_seen.SCHEMA
        )

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version < SCHEMA_VERSION:
            old = self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alerts'")
            if old.fetchone() is not None:
                self._db.execute("ALTER TABLE alerts RENAME TO alerts_v1")
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

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

    @contextmanager
    def transaction(self, on_rollback: Callable[[], None] | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): committed when the block ends, rolled back
        if it raises. ``on_rollback`` then runs before another thread can use the store, so what
        a caller keeps of the transaction in memory is dropped before anyone could read it."""
        with self._lock:
            try:
                with self._db:
                    self._db.execute("BEGIN IMMEDIATE")
                    yield self._db
            except BaseException:
                if on_rollback is not None:
                    on_rollback()
                raise

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection for queries, held by this thread alone for the block."""
        with self._lock:
            yield self._db

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
