"""The outbox when full: refuses new messages whole, never drops accepted ones, takes them again
once drained; a file-size limit fails the way a full disk does and is treated the same."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from edge.drain_rate import DrainRate
from edge.outbox import Message, Outbox, OutboxFull

TOPIC = "careedge/v1/home-a/gw-1/vitals/kiosk-1"
PAGE = 4096


def _message(seq: int, boot: int) -> Message:
    return Message(id=f"m{seq}", topic=TOPIC, payload=json.dumps({"seq": seq}).encode())


def _large(seq: int, boot: int) -> Message:
    return Message(id=f"m{seq}", topic=TOPIC, payload=bytes(1500))


def test_full_outbox_refuses_whole_messages_and_keeps_what_it_accepted(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "edge.db", max_pending=3)
    outbox.add_many([(_message, "a"), (_message, "b")])
    with pytest.raises(OutboxFull, match="limit of 3"):
        outbox.add_many([(_message, "c"), (_message, "d")])
    assert outbox.pending_count() == 2
    assert outbox.add(_message, "c").seq == 3
    with pytest.raises(OutboxFull):
        outbox.add(_message, "d")
    assert outbox.add(_message, "b").duplicate, "a resend of a stored reading is still recognised"
    assert [entry.seq for entry in outbox.take(10)] == [1, 2, 3]
    outbox.mark_published([1])
    assert outbox.add(_message, "d").seq == 4
    assert outbox.pending_count() == 3


def test_messages_no_device_can_resend_pass_the_pending_limit(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "edge.db", max_pending=1)
    outbox.add(_message)
    with pytest.raises(OutboxFull):
        outbox.add(_message)
    assert outbox.add(_message, bounded=False).seq == 2, "a nurse call is stored while readings wait"
    assert outbox.pending_count() == 2


def test_pending_count_survives_a_restart(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "edge.db", max_pending=2)
    outbox.add(_message)
    outbox.add(_message)
    outbox.mark_published([entry.seq for entry in outbox.take(1)])
    outbox.close()
    reopened = Outbox(tmp_path / "edge.db", max_pending=2)
    assert reopened.pending_count() == 1
    reopened.add(_message)
    with pytest.raises(OutboxFull):
        reopened.add(_message)


def _fill(outbox: Outbox) -> tuple[int, str]:
    """Add until refused: how many were accepted, and the refusal."""
    accepted = 0
    while True:
        try:
            outbox.add(_large)
        except OutboxFull as exc:
            return accepted, str(exc)
        accepted += 1


def test_size_limit_fails_like_a_full_disk_without_losing_accepted_rows(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "edge.db", max_bytes=32 * PAGE)
    accepted, refusal = _fill(outbox)
    assert "database or disk is full" in refusal
    assert accepted > 10
    assert outbox.pending_count() == accepted
    assert [entry.seq for entry in outbox.take(accepted + 1)] == list(range(1, accepted + 1))
    outbox.mark_published(range(1, accepted + 1))
    outbox.purge_published(older_than_s=0, covered_through=accepted, now=time.time() + 1)
    assert outbox.add(_large).seq == accepted + 1, "space freed by the purge is used again"


def test_oldest_pending_age_follows_the_oldest_unpublished(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "edge.db")
    assert outbox.oldest_pending_age() == 0.0
    stored_at = time.time()
    outbox.add(_message)
    outbox.add(_message)
    assert outbox.oldest_pending_age(now=stored_at + 3600) == pytest.approx(3600, abs=5)
    outbox.take(1)
    outbox.mark_published([1])
    assert outbox.oldest_pending_age(now=stored_at + 3600) == pytest.approx(3600, abs=5)
    outbox.take(1)
    outbox.mark_published([2])
    assert outbox.oldest_pending_age(now=stored_at + 3600) == 0.0


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_drain_rate_allows_one_second_burst_then_the_rate() -> None:
    clock = _Clock()
    rate = DrainRate(50, clock)
    assert rate.available() == 50
    rate.spend(50)
    assert rate.available() == 0
    assert rate.seconds_until_next() == pytest.approx(0.02)
    clock.now += 0.5
    assert rate.available() == 25
    clock.now += 60
    assert rate.available() == 50, "an idle minute does not save up more than one second's worth"


def test_drain_rate_below_one_per_second() -> None:
    clock = _Clock()
    rate = DrainRate(0.5, clock)
    assert rate.available() == 1
    rate.spend(1)
    assert rate.seconds_until_next() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="positive"):
        DrainRate(0, clock)
