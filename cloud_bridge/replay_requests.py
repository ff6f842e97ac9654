"""The replay requests the bridges sent and what the gateways answered (DESIGN §4).

A gap may be given up (the watermark moves past it) only on the gateway's word: its answer on
``cmd-ack/{command_id}`` names the ranges it no longer holds, and a gap it has replayed again and
again that still does not arrive is being rejected each time. A request nobody answered says
nothing: the gateway's replay connection has no persistent session, so a request sent while the
gateway was restarting or cut off is simply lost, and giving up then forgets messages the gateway
still holds (it trusts the watermark and never sends them again). Such a gap is asked for again
every retry interval, as long as it takes.

Rows live in the bridges' shared store (inside the caller's transaction), so any bridge may take
the answer to a request another one sent; a row is removed once its answer is taken, once the
watermark passes its range, or after ``REQUEST_RETENTION_MS``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from careedge_common.delivery_messages import ReplayResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS replay_requests (
    command_id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    gateway TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    requested_at_ms INTEGER NOT NULL,
    answered_at_ms INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS replay_requests_by_gateway ON replay_requests (site, gateway, first_seq);
"""
REQUEST_RETENTION_MS = 24 * 3600 * 1000
"""An answer later than this (a gateway that was off for a day) is not waited for: the gap is
asked for again anyway."""


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    command_id: str
    site: str
    gateway: str
    first: int
    last: int


def record(db: sqlite3.Connection, requests: Iterable[ReplayRequest], now_ms: int) -> None:
    db.executemany(
        "INSERT INTO replay_requests (command_id, site, gateway, first_seq, last_seq, requested_at_ms)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (request.command_id, request.site, request.gateway, request.first, request.last, now_ms)
            for request in requests
        ],
    )


def replays_answered(db: sqlite3.Connection, site: str, gateway: str, seq: int) -> int:
    """How many requests covering ``seq`` the gateway answered by publishing the range again."""
    (count,) = db.execute(
        "SELECT count(*) FROM replay_requests WHERE site = ? AND gateway = ? AND first_seq <= ?"
        " AND last_seq >= ? AND answered_at_ms IS NOT NULL",
        (site, gateway, seq, seq),
    ).fetchone()
    return int(count)


def open_request(db: sqlite3.Connection, site: str, gateway: str, command_id: str) -> ReplayRequest | None:
    """The unanswered request of this gateway with that ID; None for any other ``cmd-ack`` (a
    dispense or config command's, a copy another bridge has taken, one past its retention)."""
    row = db.execute(
        "SELECT first_seq, last_seq FROM replay_requests WHERE command_id = ? AND site = ?"
        " AND gateway = ? AND answered_at_ms IS NULL",
        (command_id, site, gateway),
    ).fetchone()
    return None if row is None else ReplayRequest(command_id, site, gateway, int(row[0]), int(row[1]))


def note_replayed(db: sqlite3.Connection, command_id: str, now_ms: int) -> None:
    db.execute("UPDATE replay_requests SET answered_at_ms = ? WHERE command_id = ?", (now_ms, command_id))


def drop(db: sqlite3.Connection, command_id: str) -> None:
    db.execute("DELETE FROM replay_requests WHERE command_id = ?", (command_id,))


def no_longer_held(request: ReplayRequest, answer: ReplayResult) -> list[tuple[int, int]]:
    """The ranges of the request the gateway says it no longer holds (within the request only)."""
    clipped = ((max(low, request.first), min(high, request.last)) for low, high in answer.missing)
    return [(low, high) for low, high in clipped if low <= high]


def forget_settled(db: sqlite3.Connection, now_ms: int) -> None:
    """Drop requests whose whole range the watermark has passed, and any past the retention."""
    db.execute(
        "DELETE FROM replay_requests WHERE requested_at_ms < ? OR last_seq <= (SELECT seq FROM"
        " seq_watermarks w WHERE w.site = replay_requests.site AND w.gateway = replay_requests.gateway)",
        (now_ms - REQUEST_RETENTION_MS,),
    )
