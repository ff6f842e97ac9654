"""A broker SIGKILLed after acknowledging messages it never wrote to disk loses them; the watermark
and replays still get every reading stored exactly once (DESIGN §4). Real processes throughout:
kiosk simulator on a pty -> edge -> Mosquitto (autosave once an hour) -> bridge -> VictoriaMetrics.

Each test runs the kiosk in three phases held apart by gates: readings stored while the bridge
runs; readings published and PUBACKed while the bridge is away (queued in its broker session, in
memory only); then the broker is killed and started empty, and the bridge comes back.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from test_kiosk_to_tsdb import GATEWAY, SITE, Site, _expected_points, _point_count, _stored_points

from careedge_testkit.mqtt_capture import Captured, MqttCapture
from careedge_testkit.processes import Daemon
from careedge_testkit.servers import Mosquitto, VictoriaMetrics, wait_until
from firmware_sim.kiosk import KioskSimulator, MessageRecord
from firmware_sim.kiosk.simulator import DeliveryOutcome

ROOT = f"careedge/v1/{SITE}/{GATEWAY}"
CAPTURED = ("watermark", "cmd/#", "cmd-ack/#", "vitals/+")
PHASE_ONE, PHASE_TWO, PHASE_THREE = 6, 12, 18
"""Kiosk messages finished by the end of each phase."""
GATE_TIMEOUT_S = 120.0
"""A gate never opened (a failed test) releases the kiosk thread after this long."""


class Gates:
    """Holds the kiosk after given numbers of finished messages until the test opens the gate."""

    def __init__(self, *after: int) -> None:
        self._gates = {count: threading.Event() for count in after}
        self._reached = {count: threading.Event() for count in after}
        self._finished = 0

    def __call__(self, _outcome: DeliveryOutcome) -> None:
        self._finished += 1
        if self._finished in self._gates:
            self._reached[self._finished].set()
            self._gates[self._finished].wait(GATE_TIMEOUT_S)

    def wait_reached(self, count: int) -> None:
        assert self._reached[count].wait(GATE_TIMEOUT_S), f"the kiosk never finished {count} messages"

    def open(self, count: int) -> None:
        self._gates[count].set()

    def open_all(self) -> None:
        for gate in self._gates.values():
            gate.set()


def _envelopes(acked: list[MessageRecord]) -> int:
    """Envelopes the edge made of these messages: one per measurement time within a message."""
    return sum(len({obs.observed_at for obs in record.observations}) for record in acked)


def _watermarks(messages: list[Captured]) -> list[int]:
    return [int(json.loads(m.payload)["seq"]) for m in messages if m.topic == f"{ROOT}/watermark"]


@contextmanager
def _kiosk(tmp_path: Path, count: int, gates: Gates) -> Iterator[KioskSimulator]:
    kiosk = KioskSimulator(
        residents=count, interval=0.05, count=count, seed=9, link=tmp_path / "kiosk.tty", on_delivery=gates
    )
    try:
        with kiosk:
            yield kiosk
    finally:
        gates.open_all()


def _lose_the_second_phase(
    site: Site, broker: Mosquitto, kiosk: KioskSimulator, gates: Gates, capture: MqttCapture
) -> tuple[int, int]:
    """Phases one and two, then the broker's crash; returns the envelope counts after each phase."""
    with Daemon("bridge", site.bridge_config) as bridge:
        wait_until(site.bridge_ready, 60, "bridge subscribed")
        gates.wait_reached(PHASE_ONE)
        stored_first = _envelopes(kiosk.acknowledged)
        capture.wait_for(lambda msgs: stored_first in _watermarks(msgs), 60, "watermark of phase one")
        assert bridge.stop() == 0
    gates.open(PHASE_ONE)
    gates.wait_reached(PHASE_TWO)
    published_second = _envelopes(kiosk.acknowledged)
    wait_until(
        lambda: site.get("/health", site.edge_api)["outbox_pending"] == 0,
        60,
        "phase two PUBACKed by the broker",
    )
    broker.kill()
    broker.start()
    return stored_first, published_second


def _recover(
    site: Site, tsdb: VictoriaMetrics, kiosk: KioskSimulator, gates: Gates, capture: MqttCapture, edge: Daemon
) -> int:
    """Phase three: the bridge back, the kiosk's last readings; returns the envelope count once the
    watermark covers every one and each reading is checked stored exactly once."""
    with Daemon("bridge", site.bridge_config) as bridge:
        wait_until(site.bridge_ready, 60, "bridge subscribed again")
        gates.open(PHASE_TWO)
        assert kiosk.wait_finished(60), edge.log()
        total = _envelopes(kiosk.acknowledged)
        capture.wait_for(lambda msgs: total in _watermarks(msgs), 60, "watermark of every reading")
        _assert_stored_exactly_once(site, tsdb, kiosk.acknowledged)
        assert bridge.stop() == 0
    return total


def _assert_stored_exactly_once(site: Site, tsdb: VictoriaMetrics, acked: list[MessageRecord]) -> None:
    expected = _expected_points(site, acked)
    stored, _ = _stored_points(tsdb)
    assert stored == expected
    assert _point_count(tsdb) == len(expected)
    assert site.processed_count() == _envelopes(acked)


@dataclass(frozen=True)
class Outcome:
    """Envelope counts after phase one (stored), phase two (lost) and three; what was captured."""

    stored_first: int
    published_second: int
    total: int
    readings: int
    captured: list[Captured]
    retained_watermarks: list[tuple[bool, int]]


def _crash_and_recover(tmp_path: Path, tsdb: VictoriaMetrics, count: int, **settings: Any) -> Outcome:
    gates = Gates(PHASE_ONE, PHASE_TWO)
    with (
        Mosquitto(autosave_interval_s=3600) as broker,
        _kiosk(tmp_path, count, gates) as kiosk,
        MqttCapture(broker.port, [f"{ROOT}/{name}" for name in CAPTURED]) as capture,
    ):
        site = Site(tmp_path, broker, tsdb, kiosk, **settings)
        with Daemon("edge", site.edge_config) as edge:
            stored_first, published_second = _lose_the_second_phase(site, broker, kiosk, gates, capture)
            total = _recover(site, tsdb, kiosk, gates, capture, edge)
        with MqttCapture(broker.port, [f"{ROOT}/watermark"]) as retained:
            retained.wait_for(lambda msgs: msgs, 10, "the retained watermark")
            watermarks = [(m.retain, int(json.loads(m.payload)["seq"])) for m in retained.messages]
        return Outcome(
            stored_first, published_second, total, len(kiosk.acknowledged), capture.messages, watermarks
        )


def _payloads(outcome: Outcome, topic_part: str) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in outcome.captured if topic_part in m.topic]


def test_a_gap_left_by_a_killed_broker_is_replayed_on_request(
    victoria: VictoriaMetrics, tmp_path: Path
) -> None:
    outcome = _crash_and_recover(
        tmp_path,
        victoria,
        PHASE_THREE,
        gateway={"replay": {"tail_grace_s": 3600}},
        bridge={"delivery": {"gap_grace_s": 1, "replay_retry_s": 5, "watermark_interval_s": 0.2}},
    )
    replays = _payloads(outcome, "/cmd/replay")
    acks = _payloads(outcome, "/cmd-ack/")

    assert outcome.readings == PHASE_THREE
    assert 0 < outcome.stored_first < outcome.published_second < outcome.total
    assert outcome.retained_watermarks == [(True, outcome.total)]
    assert replays, "the lost range came back because it was asked for"
    assert (replays[0]["from_seq"], replays[0]["to_seq"]) == (
        outcome.stored_first + 1,
        outcome.published_second,
    )
    assert {ack["command_id"] for ack in acks} == {replay["command_id"] for replay in replays}
    assert acks[0]["replayed"] == outcome.published_second - outcome.stored_first
    assert acks[0]["missing"] == []


def test_a_lost_tail_that_no_later_reading_reveals_is_published_again(
    victoria: VictoriaMetrics, tmp_path: Path
) -> None:
    outcome = _crash_and_recover(
        tmp_path,
        victoria,
        PHASE_TWO,
        gateway={"replay": {"tail_grace_s": 2}},
        bridge={"delivery": {"gap_grace_s": 3600, "watermark_interval_s": 0.2}},
    )
    replayed = {envelope["seq"] for envelope in _payloads(outcome, "/vitals/") if envelope["historical"]}

    assert outcome.readings == PHASE_TWO
    assert outcome.published_second == outcome.total
    assert _payloads(outcome, "/cmd/replay") == []
    assert replayed == set(range(outcome.stored_first + 1, outcome.total + 1)), "the tail, and only the tail"


def _replays(messages: list[Captured]) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in messages if m.topic == f"{ROOT}/cmd/replay"]


def test_a_gap_asked_for_while_the_gateway_cannot_answer_is_asked_for_until_it_does(
    victoria: VictoriaMetrics, tmp_path: Path
) -> None:
    """The gateway looks online (frozen, its connections open, as behind a cut link before its
    keepalive runs out) and hears nothing: unanswered requests must not give the gap up, or the
    gateway would trust the watermark and never send what the broker lost."""
    gates = Gates(PHASE_ONE, PHASE_TWO)
    with (
        Mosquitto(autosave_interval_s=3600) as broker,
        _kiosk(tmp_path, PHASE_THREE, gates) as kiosk,
        MqttCapture(broker.port, [f"{ROOT}/{name}" for name in CAPTURED]) as capture,
    ):
        site = Site(
            tmp_path,
            broker,
            victoria,
            kiosk,
            gateway={"replay": {"tail_grace_s": 3600}},
            bridge={
                "delivery": {
                    "gap_grace_s": 0.5,
                    "replay_retry_s": 0.5,
                    "replay_attempts": 1,
                    "watermark_interval_s": 0.2,
                }
            },
        )
        with Daemon("edge", site.edge_config) as edge:
            stored_first, published_second = _lose_the_second_phase(site, broker, kiosk, gates, capture)
            with Daemon("bridge", site.bridge_config) as bridge:
                wait_until(site.bridge_ready, 60, "bridge session on the restarted broker")
                assert bridge.stop() == 0
            gates.open(PHASE_TWO)
            assert kiosk.wait_finished(60), edge.log()
            wait_until(
                lambda: site.get("/health", site.edge_api)["outbox_pending"] == 0,
                60,
                "phase three PUBACKed, queued in the bridge's session",
            )
            edge.pause()
            try:
                with Daemon("bridge", site.bridge_config) as bridge:
                    capture.wait_for(
                        lambda msgs: len(_replays(msgs)) >= 4, 60, "requests to the frozen gateway"
                    )
                    assert max(_watermarks(capture.messages)) == stored_first, bridge.log()
                    edge.resume()
                    total = _envelopes(kiosk.acknowledged)
                    capture.wait_for(lambda msgs: total in _watermarks(msgs), 60, "every reading stored")
                    _assert_stored_exactly_once(site, victoria, kiosk.acknowledged)
                    capture.wait_for(_every_request_answered, 60, "answers to the requests it was sent")
            finally:
                edge.resume()
    assert stored_first < published_second < total


def _every_request_answered(messages: list[Captured]) -> bool:
    answered = {json.loads(m.payload)["command_id"] for m in messages if "/cmd-ack/" in m.topic}
    return answered == {replay["command_id"] for replay in _replays(messages)}
