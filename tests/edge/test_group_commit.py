"""Device messages that arrive together share one outbox commit, and each is answered only after it.

Real SQLite files; the appends come from concurrent asyncio tasks as the device supervisors make
them. What a reading's task hears is checked against a second connection, which sees only what
has been committed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from edge.group_commit import GroupCommit
from edge.metrics import EdgeMetrics
from edge.outbox import Message, Outbox, OutboxEntry, OutboxError, OutboxFull

DEVICES = 20


def _message(seq: int, boot: int) -> Message:
    return Message(id=f"m{seq}", topic="t", payload=f"{seq}/{boot}".encode())


def _committed_seqs(path: Path) -> list[int]:
    """What another connection (another process after a crash) finds in the file."""
    db = sqlite3.connect(path)
    try:
        return [int(row[0]) for row in db.execute("SELECT seq FROM outbox ORDER BY seq")]
    finally:
        db.close()


def _commits(metrics: EdgeMetrics) -> float:
    value = metrics.registry.get_sample_value("careedge_edge_outbox_commits_total")
    assert value is not None
    return value


async def test_messages_of_many_devices_share_one_commit_in_arrival_order(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    outbox = Outbox(path)
    metrics = EdgeMetrics()
    group = GroupCommit(outbox, metrics.outbox_commits)
    committed_when_answered: dict[str, list[int]] = {}

    async def device(name: str) -> list[OutboxEntry]:
        entries = await group.add_many([(_message, f"{name}-a"), (_message, f"{name}-b")])
        committed_when_answered[name] = _committed_seqs(path)
        return entries

    results = await asyncio.gather(*(device(f"kiosk-{index}") for index in range(DEVICES)))

    assert _commits(metrics) == 1, "all twenty messages were ready in the same turn of the loop"
    assert [[entry.seq for entry in entries] for entries in results] == [
        [2 * index + 1, 2 * index + 2] for index in range(DEVICES)
    ]
    for name, entries in zip(committed_when_answered, results, strict=True):
        assert {entry.seq for entry in entries} <= set(committed_when_answered[name]), (
            f"{name} was answered before its readings were committed"
        )
    assert outbox.pending_count() == 2 * DEVICES
    outbox.close()
    reopened = Outbox(path)
    assert reopened.last_seq() == 2 * DEVICES
    assert reopened.add(_message).seq == 2 * DEVICES + 1


async def test_a_lone_message_is_committed_without_waiting_for_company(tmp_path: Path) -> None:
    metrics = EdgeMetrics()
    group = GroupCommit(Outbox(tmp_path / "edge.db"), metrics.outbox_commits)
    for expected in (1, 2, 3):
        entries = await group.add_many([(_message, None)])
        assert [entry.seq for entry in entries] == [expected]
    assert _commits(metrics) == 3


async def test_a_refused_message_leaves_the_rest_of_its_group_stored(tmp_path: Path) -> None:
    """The pending limit counts the messages earlier in the same group; a companion that fails
    rolls back its own message only; ``seq`` stays contiguous over what was stored."""
    path = tmp_path / "edge.db"
    outbox = Outbox(path, max_pending=4)
    group = GroupCommit(outbox, EdgeMetrics().outbox_commits)

    def failing_companion(db: sqlite3.Connection, _entries: Sequence[OutboxEntry]) -> None:
        db.execute("INSERT INTO no_such_table VALUES (1)")

    appends = [
        group.add_many([(_message, "a")]),
        group.add_many([(_message, "b")], also=failing_companion),
        group.add_many([(_message, "c"), (_message, "d")]),
        group.add_many([(_message, "a")]),
        group.add_many([(_message, "e")]),
        group.add_many([(_message, "f")]),
    ]
    results = await asyncio.gather(*appends, return_exceptions=True)

    stored = [[entry.seq for entry in result] if isinstance(result, list) else result for result in results]
    assert stored[0] == [1]
    assert isinstance(stored[1], OutboxError)
    assert not isinstance(stored[1], OutboxFull)
    assert "no_such_table" in str(stored[1])
    assert stored[2] == [2, 3]
    assert stored[3] == [1], "a resend within the group is recognised as the stored reading"
    assert stored[4] == [4]
    assert isinstance(stored[5], OutboxFull)
    assert _committed_seqs(path) == [1, 2, 3, 4]
    assert outbox.pending_count() == 4


async def test_a_cancelled_waiter_does_not_stop_the_others_being_answered(tmp_path: Path) -> None:
    group = GroupCommit(Outbox(tmp_path / "edge.db"), EdgeMetrics().outbox_commits)
    cancelled = asyncio.ensure_future(group.add_many([(_message, "gone")]))
    waiting = asyncio.ensure_future(group.add_many([(_message, "kept")]))
    await asyncio.sleep(0)
    cancelled.cancel()

    entries = await asyncio.wait_for(waiting, 10)

    assert [entry.seq for entry in entries] == [2]
    with pytest.raises(asyncio.CancelledError):
        await cancelled
