from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from edge.outbox import Message, Outbox, OutboxError


def _message(seq: int, boot: int) -> Message:
    return Message(id=f"id-{seq}", topic="t", payload=f"{seq}/{boot}".encode())


def test_seq_is_contiguous_and_survives_restart(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "edge.db")
    assert outbox.boot == 1
    seqs = [outbox.add(_message).seq for _ in range(3)]
    outbox.close()
    reopened = Outbox(tmp_path / "edge.db")
    assert reopened.boot == 2
    assert seqs == [1, 2, 3]
    entry = reopened.add(_message)
    assert entry.seq == 4
    assert entry.payload == b"4/2"


def test_take_skips_in_flight_and_release_returns_entries(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "edge.db")
    for _ in range(5):
        outbox.add(_message)
    first = outbox.take(2)
    second = outbox.take(2)
    assert [e.seq for e in first] == [1, 2]
    assert [e.seq for e in second] == [3, 4]
    outbox.release([1])
    outbox.mark_published([2])
    assert [e.seq for e in outbox.take(10)] == [1, 5]
    assert outbox.pending_count() == 4


def test_marking_published_leaves_appends_waiting_for_the_disk(tmp_path: Path) -> None:
    """Marks skip the fsync; the appends after them must not."""
    outbox = Outbox(tmp_path / "edge.db")
    assert outbox.commits_wait_for_disk
    for _ in range(2):
        outbox.add(_message)
    outbox.mark_published(entry.seq for entry in outbox.take(2))
    assert outbox.commits_wait_for_disk
    outbox.close()
    assert Outbox(tmp_path / "edge.db").take(10) == [], "the marks survived a restart"


def test_unpublished_entries_come_back_after_restart(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "edge.db")
    for _ in range(3):
        outbox.add(_message)
    outbox.take(3)
    outbox.mark_published([1])
    outbox.close()
    reopened = Outbox(tmp_path / "edge.db")
    assert [e.seq for e in reopened.take(10)] == [2, 3]


def test_resent_reading_is_stored_once(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "edge.db")
    first = outbox.add(_message, dedupe_key="k1")
    again = outbox.add(_message, dedupe_key="k1")
    other = outbox.add(_message, dedupe_key="k2")
    assert not first.duplicate
    assert again.duplicate
    assert again.seq == first.seq
    assert other.seq == first.seq + 1
    assert outbox.pending_count() == 2


def test_failed_build_stores_nothing_and_keeps_seq(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "edge.db")

    def broken(seq: int, boot: int) -> Message:
        raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(OutboxError, match="disk I/O error"):
        outbox.add(broken)
    assert outbox.pending_count() == 0
    assert outbox.add(_message).seq == 1


def test_purge_keeps_replay_window_and_what_the_watermark_does_not_cover(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "edge.db")
    for _ in range(3):
        outbox.add(_message)
    outbox.take(3)
    outbox.mark_published([1, 2])
    assert outbox.purge_published(older_than_s=3600, covered_through=3) == 0
    assert outbox.purge_published(older_than_s=3600, covered_through=1, now=10**10) == 1
    assert outbox.held_seqs(1, 3) == [2, 3]
    assert outbox.purge_published(older_than_s=3600, covered_through=3, now=10**10) == 1
    assert outbox.held_seqs(1, 3) == [3]
    assert outbox.pending_count() == 1
    assert outbox.last_seq() == 3


def test_add_many_is_all_or_nothing(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "edge.db")
    outbox.add(_message, dedupe_key="old")

    def broken(seq: int, boot: int) -> Message:
        raise sqlite3.OperationalError("database or disk is full")

    with pytest.raises(OutboxError):
        outbox.add_many([(_message, "a"), (broken, "b")])
    assert outbox.pending_count() == 1
    entries = outbox.add_many([(_message, "a"), (_message, "old"), (_message, "b")])
    assert [(e.seq, e.duplicate) for e in entries] == [(2, False), (1, True), (3, False)]
