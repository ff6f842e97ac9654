"""Connections of the edge's own tables to the outbox's SQLite file (DESIGN §5: one file).

Each store opens its own connection, with the outbox's durability settings, for its reads and for
writes that stand alone. Writes that must commit with an outbox message take the outbox's
connection instead (``Outbox.add_many(..., also=...)``). Every connection is used from the
daemon's event loop thread only, one statement at a time, so the connections never wait on each
other; WAL lets them share the file.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

BUSY_TIMEOUT_MS = 5000
EDGE_DB_FILE = "edge.db"
"""The one SQLite file in ``gateway.data_dir``."""


def connect(path: Path, schema: str) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode (WAL, ``synchronous=FULL``) and create ``schema`` if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(schema)
    return db


def to_text(moment: datetime) -> str:
    """Fixed-width UTC text with microseconds: sorts as it compares, and reads back exactly."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime cannot be stored")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


class Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any exception, for autocommit-mode connections."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is not None:
            self._rollback()
            return
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error:
            self._rollback()
            raise

    def _rollback(self) -> None:
        # SQLite may have rolled back by itself (SQLITE_FULL can): keep the original error then.
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
