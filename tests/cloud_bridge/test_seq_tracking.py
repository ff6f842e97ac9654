"""Contiguity of each gateway's seq in the bridges' shared store, and what the keeper publishes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry

from careedge_common.config_delivery import DeliveryCheck
from careedge_common.epoch import epoch_ms
from cloud_bridge.alert_store import set_gateway_online
from cloud_bridge.seq_tracking import SeqMark, record_seqs, watermark_of
from cloud_bridge.store import BridgeStore, mark_processed
from cloud_bridge.watermarks import DeliveryCheckMetrics, WatermarkKeeper

SITE = "site-a"
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
SETTINGS = DeliveryCheck(gap_grace_s=30, replay_retry_s=60, replay_attempts=2, watermark_interval_s=1)


def _record(
    store: BridgeStore, *seqs: int, gateway: str = "gw-1", boot: int = 1, at: datetime = START
) -> None:
    marks = [SeqMark(SITE, gateway, seq, boot) for seq in seqs]
    with store.transaction() as db:
        mark_processed(db, [f"{gateway}-{boot}-{seq}" for seq in seqs], at)
        record_seqs(db, marks, epoch_ms(at))


def _watermark(store: BridgeStore, gateway: str = "gw-1") -> tuple[int, int] | None:
    with store.transaction() as db:
        found = watermark_of(db, SITE, gateway)
    return None if found is None else (found.seq, found.boot)


def _held_above(store: BridgeStore) -> int:
    with store.transaction() as db:
        return int(db.execute("SELECT count(*) FROM seq_above_watermark").fetchone()[0])


class Published:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, object], bool]] = []

    def __call__(self, topic: str, payload: bytes, retain: bool) -> None:
        self.messages.append((topic, json.loads(payload), retain))

    def take(self) -> list[tuple[str, dict[str, object], bool]]:
        taken, self.messages = self.messages, []
        return taken


def _keeper(store: BridgeStore, published: Published, settings: DeliveryCheck = SETTINGS) -> WatermarkKeeper:
    return WatermarkKeeper(
        SITE, settings, store.transaction, published, DeliveryCheckMetrics(CollectorRegistry())
    )


def test_in_order_and_out_of_order_seqs_advance_the_watermark_over_contiguous_runs(tmp_path: Path) -> None:
    store = BridgeStore(tmp_path / "bridge.db")
    _record(store, 1, 2, 3)
    assert _watermark(store) == (3, 1)
    _record(store, 5, 7, 6)
    assert _watermark(store) == (3, 1)
    assert _held_above(store) == 3
    _record(store, 4)
    assert _watermark(store) == (7, 1)
    assert _held_above(store) == 0, "rows above the watermark are consumed once it reaches them"
    _record(store, 2, 7)
    assert _watermark(store) == (7, 1), "seqs already covered change nothing"


def test_seq_runs_on_across_boots_and_the_watermark_names_the_boot_of_its_message(tmp_path: Path) -> None:
    store = BridgeStore(tmp_path / "bridge.db")
    _record(store, 1, 2, boot=1)
    _record(store, 4, 5, boot=2)
    assert _watermark(store) == (2, 1), "the boot change does not hide seq 3"
    _record(store, 3, boot=1)
    assert _watermark(store) == (5, 2)


def test_a_gateway_first_seen_after_its_first_boot_starts_at_its_lowest_seq(tmp_path: Path) -> None:
    store = BridgeStore(tmp_path / "bridge.db")
    _record(store, 903, 901, gateway="gw-old", boot=4)
    _record(store, 2, gateway="gw-new", boot=1)
    assert _watermark(store, "gw-old") == (901, 4)
    assert _watermark(store, "gw-new") == (0, 1), "a first-boot gateway's seq 1 is still missing"


def test_two_bridges_writing_one_store_agree_on_one_watermark(tmp_path: Path) -> None:
    first, second = BridgeStore(tmp_path / "bridge.db"), BridgeStore(tmp_path / "bridge.db")
    for seq in range(1, 41):
        _record(first if seq % 3 else second, seq, gateway="gw-1")
        _record(second if seq % 3 else first, 41 - seq, gateway="gw-2")
    assert _watermark(first, "gw-1") == _watermark(second, "gw-1") == (40, 1)
    assert _watermark(first, "gw-2") == (40, 1)
    assert _held_above(second) == 0

    published = [Published(), Published()]
    keepers = [_keeper(first, published[0]), _keeper(second, published[1])]
    for keeper in keepers:
        keeper.tick(START)
    topics = sorted(topic for one in published for topic, _, _ in one.take())
    assert topics == ["careedge/v1/site-a/gw-1/watermark", "careedge/v1/site-a/gw-2/watermark"]


def test_watermarks_are_published_retained_when_they_advance_at_most_once_per_interval(
    tmp_path: Path,
) -> None:
    store = BridgeStore(tmp_path / "bridge.db")
    published = Published()
    keeper = _keeper(store, published)
    _record(store, 1, 2)
    keeper.tick(START)
    assert published.take() == [
        ("careedge/v1/site-a/gw-1/watermark", {"boot": 1, "seq": 2, "at": "2026-12-01T08:00:00.000Z"}, True)
    ]
    _record(store, 3)
    keeper.tick(START + timedelta(milliseconds=500))
    assert published.take() == [], "within the interval"
    keeper.tick(START + timedelta(seconds=1))
    assert [(payload["seq"], retain) for _, payload, retain in published.take()] == [(3, True)]
    keeper.tick(START + timedelta(seconds=5))
    assert published.take() == [], "nothing new to say"
    keeper.tick(START + timedelta(seconds=301))
    assert [(payload["seq"], retain) for _, payload, retain in published.take()] == [(3, True)], "refreshed"


def test_gaps_are_requested_after_the_grace_and_again_after_each_retry_while_unanswered(
    tmp_path: Path,
) -> None:
    store = BridgeStore(tmp_path / "bridge.db")
    published = Published()
    keeper = _keeper(store, published)
    _record(store, 1, 2, 3, 6, 7, 9, at=START)
    keeper.tick(START)
    published.take()

    keeper.tick(START + timedelta(seconds=29))
    assert published.take() == [], "out of order for less than the grace period is normal"
    keeper.tick(START + timedelta(seconds=30))
    commands = published.take()
    assert [topic for topic, _, _ in commands] == ["careedge/v1/site-a/gw-1/cmd/replay"] * 2
    assert not any(retain for _, _, retain in commands)
    assert [{key: command[key] for key in ("boot", "from_seq", "to_seq")} for _, command, _ in commands] == [
        {"boot": 1, "from_seq": 4, "to_seq": 5},
        {"boot": 1, "from_seq": 8, "to_seq": 8},
    ], "every open gap at once: after a broker restart there are several"
    assert all(str(command["command_id"]).islower() for _, command, _ in commands)

    keeper.tick(START + timedelta(seconds=60))
    assert published.take() == [], "a request in progress is not repeated before the retry interval"
    for retry in range(1, 11):
        keeper.tick(START + timedelta(seconds=30 + 60 * retry))
        requests = [c["from_seq"] for t, c, _ in published.take() if t.endswith("/cmd/replay")]
        assert requests == [4, 8], f"retry {retry}"
    assert _watermark(store) == (3, 1), (
        "requests nobody answered say nothing about the messages: the gateway may have been restarting"
    )


def test_a_gateway_whose_state_says_offline_is_asked_too_and_nothing_is_given_up(tmp_path: Path) -> None:
    """Two bridges process every gateway state, so the stored one may be a stale ``offline`` a
    lagging bridge processed after another stored the newer ``online``."""
    store = BridgeStore(tmp_path / "bridge.db")
    published = Published()
    keeper = _keeper(store, published)
    _record(store, 1, 3, at=START)
    with store.transaction() as db:
        set_gateway_online(db, "gw-1", False, START)
    for minutes in range(1, 10):
        keeper.tick(START + timedelta(minutes=minutes))
        requests = [(c["from_seq"], c["to_seq"], c["boot"]) for t, c, _ in published.take() if "replay" in t]
        assert requests == [(2, 2, 1)], f"minute {minutes}"
    assert _watermark(store) == (1, 1), "unanswered, so never given up"


def test_a_filled_gap_starts_the_next_one_from_scratch(tmp_path: Path) -> None:
    store = BridgeStore(tmp_path / "bridge.db")
    published = Published()
    keeper = _keeper(store, published)
    _record(store, 1, 3, 5, at=START)
    keeper.tick(START + timedelta(seconds=30))
    assert [(c["from_seq"], c["to_seq"]) for t, c, _ in published.take() if t.endswith("replay")] == [
        (2, 2),
        (4, 4),
    ]
    _record(store, 2, at=START + timedelta(seconds=40))
    keeper.tick(START + timedelta(seconds=69))
    assert [t for t, _, _ in published.take() if t.endswith("replay")] == [], (
        "the gap above has its own grace"
    )
    keeper.tick(START + timedelta(seconds=70))
    assert [(c["from_seq"], c["to_seq"]) for t, c, _ in published.take() if t.endswith("replay")] == [(4, 4)]
