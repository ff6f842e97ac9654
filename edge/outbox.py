"""The durable outbox: every accepted reading lives here until the broker has acknowledged it.

One SQLite file in WAL mode with ``synchronous=FULL``: ``add`` returns only after the row is on
disk, which is what lets the edge acknowledge a device (DESIGN §4). ``add_group`` does the same for
several devices' messages with one commit, since each commit waits for the disk
(``edge.group_commit``). The interface is Telegraf's
buffer in three calls: ``add``, ``take`` a batch, ``end`` it (``mark_published`` or ``release``).
Sequence numbers are assigned inside the same transaction as the row, so ``seq`` has no gaps and
survives restarts; ``boot`` counts daemon starts, like Sparkplug's bdSeq.

Full is a normal state, not a failure: after a long outage the outbox may reach its limit on
unpublished readings (``max_pending``) or on file size (``max_bytes``, enforced by SQLite's
``max_page_count``, which fails exactly as a full disk does). Then ``add`` raises ``OutboxFull``
and nothing is stored, so the device is refused and keeps the reading for a later resend; nothing
already accepted is ever dropped to make room.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from edge.edge_db import Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    dedupe_key TEXT UNIQUE,
    created_at REAL NOT NULL,
    published_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (seq) WHERE published_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;
"""


SYNCHRONOUS_FULL = 2
"""``PRAGMA synchronous`` reads back as a number; 2 is FULL."""
APPEND_SAVEPOINT = "outbox_append"
"""Each append of a group runs inside this savepoint, so a refused one leaves the others stored."""
SQLITE_MAX_INT = 2**63 - 1
"""The largest INTEGER SQLite stores: the open upper end of a ``seq`` range."""


class OutboxError(Exception):
    """The outbox could not store a reading (disk full, I/O error): the device must keep it."""


class OutboxFull(OutboxError):
    """The outbox is at its configured limit, or the disk is full: refuse until it has drained."""


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    seq: int
    id: str
    topic: str
    payload: bytes
    duplicate: bool = False
    """True when ``add`` found the same reading already stored (a device resent it)."""


@dataclass(frozen=True, slots=True)
class Message:
    """What a caller builds once it knows the sequence number the outbox assigned."""

    id: str
    topic: str
    payload: bytes


Builder = Callable[[int, int], Message]
Companion = Callable[[sqlite3.Connection, Sequence[OutboxEntry]], None]
"""Writes a caller's own rows (audit, unbound readings) inside the transaction that stores messages."""


@dataclass(frozen=True, slots=True)
class Append:
    """One caller's messages for ``add_group``: what ``add_many`` takes, as one value."""

    items: Sequence[tuple[Builder, str | None]]
    also: Companion | None = None
    bounded: bool = True


def _storage_error(exc: Exception) -> OutboxError:
    """A new ``OutboxError`` for one caller (``OutboxFull`` for a full file or disk), caused by ``exc``."""
    if isinstance(exc, OutboxError):
        error = type(exc)(*exc.args)
    elif getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        error = OutboxFull(f"outbox file cannot grow: {exc}")
    else:
        error = OutboxError(f"outbox write failed: {exc}")
    error.__cause__ = exc
    return error


class Outbox:
    def __init__(self, path: Path, *, max_pending: int | None = None, max_bytes: int | None = None) -> None:
        """``max_pending``: unpublished messages held at most. ``max_bytes``: size the file may grow
        to through this connection (never below its current size). None means no limit."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        if max_bytes is not None:
            page_size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
            self._db.execute(f"PRAGMA max_page_count={max(1, max_bytes // page_size)}")
        self._db.executescript(SCHEMA)
        self._max_pending = max_pending
        self._in_flight: set[int] = set()
        self._pending = int(
            self._db.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0]
        )
        self.boot = self._next_boot()

    def _next_boot(self) -> int:
        with self._transaction():
            boot = self._counter("boot") + 1
            self._set_counter("boot", boot)
        return boot

    def add(
        self,
        build: Builder,
        dedupe_key: str | None = None,
        also: Companion | None = None,
        *,
        bounded: bool = True,
    ) -> OutboxEntry:
        """Store one message; see ``add_many``."""
        return self.add_many([(build, dedupe_key)], also, bounded=bounded)[0]

    def add_many(
        self,
        items: Sequence[tuple[Builder, str | None]],
        also: Companion | None = None,
        *,
        bounded: bool = True,
    ) -> list[OutboxEntry]:
        """Store messages atomically, each with the next ``seq``; ``build(seq, boot)`` makes each one.

        All or nothing: one device message that yields several readings is acknowledged only
        when every one of them is on disk. A device that did not hear our acknowledgement sends
        the same reading again; when a ``dedupe_key`` matches a stored entry (within the replay
        window), that entry is returned marked ``duplicate`` and nothing new is stored for it.
        ``also(connection, entries)`` runs last inside the same transaction, so rows a caller keeps
        beside the messages (an audit record, an unbound reading) commit or roll back with them.
        Raises ``OutboxFull`` when the new messages would pass ``max_pending`` or the file cannot grow,
        ``OutboxError`` when the rows could not be written otherwise; nothing is half-stored then.
        ``bounded=False`` is for messages no device keeps to send again (a nurse call, a staff
        correction): ``max_pending`` does not refuse them, only a full file or disk does.
        """
        stored = self.add_group([Append(items, also, bounded)])[0]
        if isinstance(stored, OutboxError):
            raise stored
        return stored

    def add_group(self, appends: Sequence[Append]) -> list[list[OutboxEntry] | OutboxError]:
        """Store several callers' appends in one transaction: one commit, one fsync for them all.

        Each append keeps the meaning of ``add_many`` (all or nothing, duplicates, ``also``,
        ``bounded``) and gets its own result, in order: its entries, or the ``OutboxError`` that
        refused it while the others went ahead (each runs in a savepoint). ``seq`` follows the
        order of ``appends``. When the commit itself fails, or SQLite abandons the whole
        transaction (it may on a full disk), every append gets the error: nothing is stored.
        Exceptions other than storage errors (a caller's bug) roll everything back and propagate.
        """
        results: list[list[OutboxEntry] | OutboxError] = []
        fresh_total = 0
        try:
            with self._transaction():
                seq = self._counter("seq")
                for append in appends:
                    self._db.execute(f"SAVEPOINT {APPEND_SAVEPOINT}")
                    try:
                        entries = self._append(append, seq, fresh_total)
                    except (OutboxError, sqlite3.Error) as exc:
                        if not self._db.in_transaction:
                            raise
                        self._db.execute(f"ROLLBACK TO {APPEND_SAVEPOINT}")
                        self._db.execute(f"RELEASE {APPEND_SAVEPOINT}")
                        results.append(_storage_error(exc))
                        continue
                    self._db.execute(f"RELEASE {APPEND_SAVEPOINT}")
                    fresh = sum(1 for entry in entries if not entry.duplicate)
                    fresh_total += fresh
                    seq += fresh
                    results.append(entries)
                self._set_counter("seq", seq)
        except (OutboxError, sqlite3.Error) as exc:
            return [_storage_error(exc) for _ in appends]
        self._pending += fresh_total
        return results

    def _append(self, append: Append, last_seq: int, fresh_before: int) -> list[OutboxEntry]:
        """One append's rows after ``last_seq``; ``fresh_before`` new rows already in this transaction."""
        entries: list[OutboxEntry] = []
        seq = last_seq
        limit = self._max_pending if append.bounded else None
        for build, dedupe_key in append.items:
            existing = self._find(dedupe_key)
            if existing is not None:
                entries.append(existing)
                continue
            if limit is not None and self._pending + fresh_before + (seq - last_seq) + 1 > limit:
                raise OutboxFull(f"outbox holds its limit of {limit} unpublished")
            seq += 1
            message = build(seq, self.boot)
            self._db.execute(
                "INSERT INTO outbox (seq, id, topic, payload, dedupe_key, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (seq, message.id, message.topic, message.payload, dedupe_key, time.time()),
            )
            entries.append(OutboxEntry(seq, message.id, message.topic, message.payload))
        if append.also is not None:
            append.also(self._db, entries)
        return entries

    def _find(self, dedupe_key: str | None) -> OutboxEntry | None:
        if dedupe_key is None:
            return None
        row = self._db.execute(
            "SELECT seq, id, topic, payload FROM outbox WHERE dedupe_key = ?", (dedupe_key,)
        ).fetchone()
        return None if row is None else OutboxEntry(row[0], row[1], row[2], row[3], duplicate=True)

    def take(self, limit: int) -> list[OutboxEntry]:
        """Up to ``limit`` unpublished entries in ``seq`` order that are not already in flight."""
        rows = self._db.execute(
            "SELECT seq, id, topic, payload FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT ?",
            (limit + len(self._in_flight),),
        ).fetchall()
        batch = [OutboxEntry(*row) for row in rows if row[0] not in self._in_flight][:limit]
        self._in_flight.update(entry.seq for entry in batch)
        return batch

    def mark_published(self, seqs: Iterable[int]) -> None:
        """End of a batch, accepted: the broker has the messages (PUBACK).

        Committed without waiting for the disk (``synchronous=NORMAL`` for this one transaction):
        a mark lost to a power cut only makes the message pending again, and a re-publish of the
        same envelope is harmless (the bridge drops IDs it has seen), while an fsync per publisher
        turn stalled the event loop as long as a commit of device readings does. The write-ahead
        log is one sequential file, so the next ``FULL`` commit puts these marks on disk as well.
        An application crash loses nothing: the commit is in the log either way.
        """
        done = list(seqs)
        if not done:
            return
        now = time.time()
        self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            with self._transaction():
                cursor = self._db.executemany(
                    "UPDATE outbox SET published_at = ? WHERE seq = ? AND published_at IS NULL",
                    [(now, seq) for seq in done],
                )
        finally:
            self._db.execute("PRAGMA synchronous=FULL")
        self._pending -= cursor.rowcount
        self._in_flight.difference_update(done)

    @property
    def commits_wait_for_disk(self) -> bool:
        """True while a commit returns only once it is on disk (``synchronous=FULL``), as every
        append must: what lets the edge acknowledge a device after ``add``."""
        return int(self._db.execute("PRAGMA synchronous").fetchone()[0]) == SYNCHRONOUS_FULL

    def release(self, seqs: Iterable[int]) -> None:
        """End of a batch, rejected: the entries go back to pending and will be taken again."""
        self._in_flight.difference_update(seqs)

    def pending_count(self) -> int:
        """Unpublished messages; kept as a running count, since the publisher asks on every turn."""
        return self._pending

    def oldest_pending_age(self, now: float | None = None) -> float:
        """Seconds since the oldest unpublished reading was stored; 0 when none is pending."""
        row = self._db.execute(
            "SELECT created_at FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT 1"
        ).fetchone()
        return 0.0 if row is None else max(0.0, (now or time.time()) - float(row[0]))

    def last_seq(self) -> int:
        return self._counter("seq")

    def purge_published(self, older_than_s: float, covered_through: int, now: float | None = None) -> int:
        """Drop published entries past the replay window whose ``seq`` the bridges' watermark
        covers (``covered_through``): a message the broker lost stays until it has been replayed.
        Returns how many were dropped."""
        cutoff = (now or time.time()) - older_than_s
        with self._transaction():
            cursor = self._db.execute(
                "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < ? AND seq <= ?",
                (cutoff, covered_through),
            )
        return cursor.rowcount

    def published(
        self, first: int, last: int | None, limit: int, *, published_before: float | None = None
    ) -> list[OutboxEntry]:
        """Up to ``limit`` published entries with ``first <= seq <= last`` (no upper bound when
        ``last`` is None), published before ``published_before`` (epoch s) if given; ``seq`` order."""
        rows = self._db.execute(
            "SELECT seq, id, topic, payload FROM outbox WHERE seq BETWEEN ? AND ?"
            " AND published_at IS NOT NULL AND (? IS NULL OR published_at < ?) ORDER BY seq LIMIT ?",
            (first, SQLITE_MAX_INT if last is None else last, published_before, published_before, limit),
        ).fetchall()
        return [OutboxEntry(*row) for row in rows]

    def held_seqs(self, first: int, last: int) -> list[int]:
        """The seqs between ``first`` and ``last`` (inclusive) still in the outbox, published or not."""
        rows = self._db.execute(
            "SELECT seq FROM outbox WHERE seq BETWEEN ? AND ? ORDER BY seq", (first, last)
        )
        return [int(row[0]) for row in rows]

    def close(self) -> None:
        self._db.close()

    def _counter(self, name: str) -> int:
        row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return 0 if row is None else int(row[0])

    def _set_counter(self, name: str, value: int) -> None:
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def _transaction(self) -> Transaction:
        return Transaction(self._db)
