"""Gaps are given up only on the gateway's word: its answer to a replay request (DESIGN §4)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry
from test_seq_tracking import SETTINGS, SITE, START, Published, _record, _watermark

from careedge_common.delivery_messages import ReplayResult, compact_json
from cloud_bridge.store import BridgeStore
from cloud_bridge.watermarks import DeliveryCheckMetrics, WatermarkKeeper

GATEWAY = "gw-1"
RETRY = timedelta(seconds=SETTINGS.replay_retry_s)
FIRST_REQUEST = START + timedelta(seconds=SETTINGS.gap_grace_s)


class Keeper:
    """A keeper over one store, with what it published and its metrics at hand."""

    def __init__(self, store: BridgeStore) -> None:
        self.published = Published()
        self.registry = CollectorRegistry()
        self.keeper = WatermarkKeeper(
            SITE, SETTINGS, store.transaction, self.published, DeliveryCheckMetrics(self.registry)
        )

    def requests(self, at: timedelta) -> list[dict[str, object]]:
        """Tick at ``START + at``; the replay requests it sent."""
        self.keeper.tick(START + at)
        return [command for topic, command, _ in self.published.take() if topic.endswith("/cmd/replay")]

    def answer(self, request: dict[str, object], *missing: tuple[int, int], at: timedelta) -> None:
        result = ReplayResult(
            command_id=str(request["command_id"]),
            result="replayed",
            from_seq=int(str(request["from_seq"])),
            to_seq=int(str(request["to_seq"])),
            replayed=1,
            missing=list(missing),
        )
        self.keeper.take_answers([(GATEWAY, result.command_id, compact_json(result))], START + at)

    def metric(self, name: str) -> float:
        value = self.registry.get_sample_value(name)
        assert value is not None, name
        return value


def _ranges(requests: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(request["from_seq"], request["to_seq"]) for request in requests]


def test_a_range_the_gateway_no_longer_holds_is_given_up_at_its_answer(tmp_path: Path) -> None:
    store = BridgeStore(tmp_path / "bridge.db")
    keeper = Keeper(store)
    _record(store, 1, 2, 8, 9)
    [request] = keeper.requests(FIRST_REQUEST - START)
    assert _ranges([request]) == [(3, 7)]

    keeper.answer(request, (2, 4), (6, 7), at=timedelta(seconds=31))
    assert _watermark(store) == (4, 1), "seqs 3-4 given up (the answer's 2 is below the request); 5 held"
    assert keeper.metric("careedge_bridge_seq_gaps_given_up_total") == 2
    _record(store, 5)
    assert _watermark(store) == (9, 1), "6-7 were given up too, so the replayed 5 closes the gap"


def test_a_gap_replayed_again_and_again_but_never_stored_is_given_up(tmp_path: Path) -> None:
    store = BridgeStore(tmp_path / "bridge.db")
    keeper = Keeper(store)
    _record(store, 1, 3, 5)
    at = FIRST_REQUEST - START
    for attempt in range(SETTINGS.replay_attempts):
        requests = keeper.requests(at + attempt * RETRY)
        assert _ranges(requests) == [(2, 2), (4, 4)], f"attempt {attempt + 1}"
        for request in requests:
            keeper.answer(request, at=at + attempt * RETRY + timedelta(seconds=1))
    assert _watermark(store) == (1, 1)

    requests = keeper.requests(at + SETTINGS.replay_attempts * RETRY)
    assert _watermark(store) == (3, 1), "seq 2 was replayed every time and never stored: given up"
    assert _ranges(requests) == [(4, 4)], "seq 4's requests were answered as often, but it waits its turn"
    assert keeper.metric("careedge_bridge_seq_gaps_given_up_total") == 1


def test_answers_to_other_commands_and_answers_taken_twice_change_nothing(tmp_path: Path) -> None:
    store = BridgeStore(tmp_path / "bridge.db")
    keeper, other_bridge = Keeper(store), Keeper(store)
    _record(store, 1, 3)
    [request] = keeper.requests(FIRST_REQUEST - START)
    dispense_ack = json.dumps({"command_id": "d-1", "result": "dispensed"}).encode()
    keeper.keeper.take_answers([(GATEWAY, "d-1", dispense_ack)], START)
    keeper.answer({**request, "command_id": "not-asked"}, (2, 2), at=timedelta(seconds=31))
    assert _watermark(store) == (1, 1), "an answer to no request of ours gives nothing up"

    for bridge in (keeper, other_bridge):
        bridge.answer(request, at=timedelta(seconds=31))
    assert other_bridge.registry.get_sample_value("careedge_bridge_seq_gaps_given_up_total") == 0
    for attempt in range(1, SETTINGS.replay_attempts):
        assert _ranges(keeper.requests(FIRST_REQUEST - START + attempt * RETRY)) == [(2, 2)], (
            "the answer both bridges received counts once"
        )


def test_a_malformed_answer_is_counted_and_leaves_the_request_open(tmp_path: Path) -> None:
    store = BridgeStore(tmp_path / "bridge.db")
    keeper = Keeper(store)
    _record(store, 1, 3)
    [request] = keeper.requests(FIRST_REQUEST - START)
    command_id = str(request["command_id"])
    keeper.keeper.take_answers([(GATEWAY, command_id, b'{"command_id": 7}')], START)
    assert keeper.metric("careedge_bridge_replay_answers_rejected_total") == 1
    keeper.answer(request, (2, 2), at=timedelta(seconds=31))
    assert _watermark(store) == (3, 1), "the request was still open for its valid answer"
