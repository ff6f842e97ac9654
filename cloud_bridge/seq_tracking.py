"""Which ``seq`` of each gateway the bridges have stored, kept in the relational store (DESIGN §4, §6).

A gateway numbers every envelope it publishes (readings, calls, events, corrections) with one
counter that has no gaps and survives restarts (the outbox assigns it in the transaction that
stores the message); ``boot`` only says which daemon start assigned it. So contiguity is tracked
per gateway over ``seq`` alone, and ``boot`` travels along as the boot of the watermark's message.

Compact: per gateway one row with the watermark (every ``seq`` up to it is stored, or was given up)
and one row per ``seq`` stored above it, out of order. Those rows are consumed as the watermark
reaches them, so the table holds only what arrived ahead of a gap. Every function here runs inside
the caller's transaction, so several bridges sharing one store never disagree: seqs are recorded
in the same commit as their envelopes' ``processed`` rows, and publication and replay requests are
claimed by a conditional update that only one bridge can win.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

SCHEMA = """
CREATE TABLE IF NOT EXISTS seq_watermarks (
    site TEXT NOT NULL,
    gateway TEXT NOT NULL,
    seq INTEGER NOT NULL,
    boot INTEGER NOT NULL,
    gap_since_ms INTEGER,
    replay_at_ms INTEGER,
    replay_attempts INTEGER NOT NULL DEFAULT 0,
    published_seq INTEGER NOT NULL DEFAULT -1,
    published_at_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site, gateway)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seq_above_watermark (
    site TEXT NOT NULL,
    gateway TEXT NOT NULL,
    seq INTEGER NOT NULL,
    boot INTEGER NOT NULL,
    PRIMARY KEY (site, gateway, seq)
) WITHOUT ROWID;
"""
FIRST_BOOT = 1


class SeqMark(NamedTuple):
    """One stored envelope's place in its gateway's sequence (a tuple: one per envelope, and a
    frozen dataclass costs four times as much to make)."""

    site: str
    gateway: str
    seq: int
    boot: int


@dataclass(frozen=True, slots=True)
class Watermark:
    gateway: str
    seq: int
    """Every ``seq`` up to this one is stored (or was given up); 0 before the first."""
    boot: int


@dataclass(frozen=True, slots=True)
class Gap:
    gateway: str
    boot: int
    first: int
    last: int
    attempt: int
    """1 for the first request for this gap."""
    lowest: bool
    """The gap just above the watermark, the one that holds it back."""


def record_seqs(db: sqlite3.Connection, marks: Iterable[SeqMark], now_ms: int) -> None:
    """Record stored envelopes' seqs and advance their gateways' watermarks (inside a transaction).

    A gateway seen for the first time starts from its first boot's first ``seq`` (1) when the
    envelope is of boot 1; otherwise its earlier messages predate this store and the watermark
    starts just below the lowest ``seq`` of the batch.
    """
    by_gateway: defaultdict[tuple[str, str], list[SeqMark]] = defaultdict(list)
    for mark in marks:
        by_gateway[mark.site, mark.gateway].append(mark)
    for (site, gateway), gateway_marks in by_gateway.items():
        row = db.execute(
            "SELECT seq FROM seq_watermarks WHERE site = ? AND gateway = ?", (site, gateway)
        ).fetchone()
        if row is None:
            lowest = min(gateway_marks, key=lambda mark: mark.seq)
            start = 0 if lowest.boot == FIRST_BOOT else lowest.seq - 1
            db.execute(
                "INSERT INTO seq_watermarks (site, gateway, seq, boot) VALUES (?, ?, ?, ?)",
                (site, gateway, start, lowest.boot),
            )
            watermark = start
        else:
            watermark = int(row[0])
        arriving = sorted((mark.seq, mark.boot) for mark in gateway_marks if mark.seq > watermark)
        _advance(db, site, gateway, now_ms, arriving)


def _advance(
    db: sqlite3.Connection, site: str, gateway: str, now_ms: int, arriving: Sequence[tuple[int, int]] = ()
) -> None:
    """Move the watermark over the run of seqs stored just above it, counting ``arriving`` (seq,
    boot) pairs in ascending order; keep those beyond the run; note when a gap opened.

    Seqs that arrive in order never touch the table of seqs above the watermark.
    """
    seq, boot, gap_since_ms = db.execute(
        "SELECT seq, boot, gap_since_ms FROM seq_watermarks WHERE site = ? AND gateway = ?", (site, gateway)
    ).fetchone()
    stored = db.execute(
        "SELECT seq, boot FROM seq_above_watermark WHERE site = ? AND gateway = ? ORDER BY seq",
        (site, gateway),
    )
    reached, reached_boot, gap_remains = seq, boot, False
    for above, above_boot in heapq.merge(arriving, stored):
        if above <= reached:
            continue
        if above != reached + 1:
            gap_remains = True
            break
        reached, reached_boot = above, above_boot
    stored.close()
    db.executemany(
        "INSERT OR IGNORE INTO seq_above_watermark (site, gateway, seq, boot) VALUES (?, ?, ?, ?)",
        [(site, gateway, above, above_boot) for above, above_boot in arriving if above > reached],
    )
    if reached != seq:
        db.execute(
            "DELETE FROM seq_above_watermark WHERE site = ? AND gateway = ? AND seq <= ?",
            (site, gateway, reached),
        )
    if not gap_remains:
        gap_since_ms = None
    elif gap_since_ms is None or reached != seq:
        gap_since_ms = now_ms
    db.execute(
        "UPDATE seq_watermarks SET seq = ?, boot = ?, gap_since_ms = ?,"
        " replay_at_ms = CASE WHEN ? THEN replay_at_ms END,"
        " replay_attempts = CASE WHEN ? THEN replay_attempts ELSE 0 END"
        " WHERE site = ? AND gateway = ?",
        (reached, reached_boot, gap_since_ms, reached == seq, reached == seq, site, gateway),
    )


def claim_watermarks(
    db: sqlite3.Connection, site: str, now_ms: int, interval_ms: int, refresh_ms: int
) -> list[Watermark]:
    """Watermarks that advanced since they were last published, at most once per ``interval_ms``,
    and any not published for ``refresh_ms`` (a retained message the broker lost, a publication
    that died with its bridge); claimed as published by this caller (inside a transaction)."""
    rows = db.execute(
        "SELECT gateway, seq, boot FROM seq_watermarks WHERE site = ?"
        " AND ((seq > published_seq AND published_at_ms <= ?) OR published_at_ms <= ?)",
        (site, now_ms - interval_ms, now_ms - refresh_ms),
    ).fetchall()
    db.executemany(
        "UPDATE seq_watermarks SET published_seq = ?, published_at_ms = ? WHERE site = ? AND gateway = ?",
        [(seq, now_ms, site, gateway) for gateway, seq, _ in rows],
    )
    return [Watermark(gateway, seq, boot) for gateway, seq, boot in rows]


MAX_GAPS_PER_CLAIM = 32
"""Ranges asked for at once per gateway: after a broker restart several gaps are open together,
and asking for them one per retry interval would take minutes to close them."""


def claim_gaps(
    db: sqlite3.Connection,
    site: str,
    now_ms: int,
    grace_ms: int,
    retry_ms: int,
) -> list[Gap]:
    """Every gap (up to ``MAX_GAPS_PER_CLAIM``, lowest first) of each gateway whose lowest gap has
    stayed open for ``grace_ms`` and was not requested within ``retry_ms``; claimed as requested
    now (inside a transaction). A gateway its state calls offline is asked too: that state may be a
    stale one another bridge processed late, and a request to a gateway that is away is merely lost
    (``replay_requests``: nothing is given up for it)."""
    rows = db.execute(
        "SELECT gateway, seq, boot, replay_attempts FROM seq_watermarks"
        " WHERE site = ? AND gap_since_ms <= ? AND (replay_at_ms IS NULL OR replay_at_ms <= ?)",
        (site, now_ms - grace_ms, now_ms - retry_ms),
    ).fetchall()
    gaps: list[Gap] = []
    for gateway, seq, boot, attempts in rows:
        stored = [
            int(row[0])
            for row in db.execute(
                "SELECT seq FROM seq_above_watermark WHERE site = ? AND gateway = ? ORDER BY seq",
                (site, gateway),
            )
        ]
        db.execute(
            "UPDATE seq_watermarks SET replay_at_ms = ?, replay_attempts = replay_attempts + 1"
            " WHERE site = ? AND gateway = ?",
            (now_ms, site, gateway),
        )
        gaps.extend(
            Gap(gateway, boot, first, last, attempts + 1, lowest=index == 0)
            for index, (first, last) in enumerate(_holes(int(seq), stored)[:MAX_GAPS_PER_CLAIM])
        )
    return gaps


def _holes(watermark: int, stored_above: Sequence[int]) -> list[tuple[int, int]]:
    """The missing ranges between the watermark and the seqs stored above it, in order."""
    holes: list[tuple[int, int]] = []
    previous = watermark
    for seq in stored_above:
        if seq > previous + 1:
            holes.append((previous + 1, seq - 1))
        previous = seq
    return holes


def give_up_range(
    db: sqlite3.Connection, site: str, gateway: str, first: int, last: int, now_ms: int
) -> None:
    """Count ``first``..``last`` as stored though they never came, so the watermark moves on past
    messages that will never come (inside a transaction). A range just above the watermark moves
    it at once; one higher up is kept as seqs above it, for the watermark to pass when it gets there.
    """
    row = db.execute(
        "SELECT seq, boot FROM seq_watermarks WHERE site = ? AND gateway = ?", (site, gateway)
    ).fetchone()
    if row is None or last <= int(row[0]):
        return
    watermark, boot = int(row[0]), int(row[1])
    if first <= watermark + 1:
        db.execute("UPDATE seq_watermarks SET seq = ? WHERE site = ? AND gateway = ?", (last, site, gateway))
    else:
        db.executemany(
            "INSERT OR IGNORE INTO seq_above_watermark (site, gateway, seq, boot) VALUES (?, ?, ?, ?)",
            [(site, gateway, seq, boot) for seq in range(first, last + 1)],
        )
    _advance(db, site, gateway, now_ms)


def watermark_of(db: sqlite3.Connection, site: str, gateway: str) -> Watermark | None:
    row = db.execute(
        "SELECT seq, boot FROM seq_watermarks WHERE site = ? AND gateway = ?", (site, gateway)
    ).fetchone()
    return None if row is None else Watermark(gateway, int(row[0]), int(row[1]))
