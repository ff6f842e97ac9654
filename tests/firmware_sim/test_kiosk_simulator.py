"""The kiosk protocol against a real MLLP receiver on the pty: ACK handling, resends and faults."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import hl7
from kiosk_receiver import MllpReceiver, Received, ack

from careedge_testkit.servers import wait_until
from drivers.hl7.mllp import MllpFramingError
from firmware_sim.kiosk.faults import FaultRates
from firmware_sim.kiosk.simulator import DeliveryOutcome, KioskSimulator

fast_kiosk = functools.partial(KioskSimulator, interval=0.0, ack_timeout=0.3, resend_backoff=0.01, seed=42)
DONE_S = 10.0


def control_ids(received: list[Received]) -> list[str | None]:
    return [item.control_id for item in received]


def test_every_message_acknowledged_with_aa_is_recorded_once() -> None:
    outcomes: list[DeliveryOutcome] = []
    with fast_kiosk(count=4, on_delivery=outcomes.append) as sim:
        with MllpReceiver(sim.device_path) as receiver:
            assert sim.wait_finished(DONE_S)
        counters = sim.counters
        acknowledged = sim.acknowledged
    assert sim.error is None
    assert [record.control_id for record in acknowledged] == control_ids(receiver.received)
    assert len(set(control_ids(receiver.received))) == 4
    assert (counters.messages, counters.sent, counters.acked, counters.resent) == (4, 4, 4, 0)
    assert [outcome.acknowledged for outcome in outcomes] == [True] * 4
    for item in receiver.received:
        assert item.message is not None
        assert str(item.message.segment("MSH")(9)) == "ORU^R01^ORU_R01"
        assert hl7.parse(item.payload.decode("utf-8").split("\r")[0]).segment("MSH") is not None


def test_a_resident_comes_back_only_after_every_other_resident() -> None:
    """Seen in the chaos run with a reshuffle per round: a resident ending one round and starting
    the next two turns later gave two readings in one second, one hiding the other."""
    roster = 7
    with fast_kiosk(residents=roster, count=5 * roster) as sim, MllpReceiver(sim.device_path):
        assert sim.wait_finished(DONE_S)
    residents = [record.resident_id for record in sim.acknowledged]
    assert len(residents) == 5 * roster
    assert len(set(residents[:roster])) == roster
    assert residents == residents[:roster] * 5


def test_ae_makes_the_kiosk_resend_the_same_message() -> None:
    def error_first(received: Received) -> bytes:
        return ack(received, "AE" if received.copy == 0 else "AA")

    with fast_kiosk(count=3) as sim, MllpReceiver(sim.device_path, error_first) as receiver:
        assert sim.wait_finished(DONE_S)
    ids = control_ids(receiver.received)
    assert len(ids) == 6
    assert ids[0::2] == ids[1::2]
    payloads = receiver.received
    assert all(payloads[i].payload == payloads[i + 1].payload for i in range(0, 6, 2))
    assert [record.control_id for record in sim.acknowledged] == ids[0::2]
    counters = sim.counters
    assert (counters.nak, counters.resent, counters.acked, counters.timeouts) == (3, 3, 3, 0)


def test_a_missing_ack_makes_the_kiosk_resend_after_the_timeout() -> None:
    first_seen: dict[str, float] = {}
    resent_after: list[float] = []

    def silent_first(received: Received) -> bytes | None:
        assert received.control_id is not None
        if received.copy == 0:
            first_seen[received.control_id] = time.monotonic()
            return None
        resent_after.append(time.monotonic() - first_seen[received.control_id])
        return ack(received)

    with fast_kiosk(count=2) as sim, MllpReceiver(sim.device_path, silent_first) as receiver:
        assert sim.wait_finished(DONE_S)
    ids = control_ids(receiver.received)
    assert ids[0] == ids[1]
    assert ids[2] == ids[3]
    assert ids[0] != ids[2]
    assert all(delay >= 0.3 for delay in resent_after)
    assert (sim.counters.timeouts, sim.counters.acked) == (2, 2)


def test_acks_for_other_control_ids_are_ignored() -> None:
    def wrong_id_first(received: Received) -> bytes:
        return ack(received, control_id="SOMEONE-ELSE") if received.copy == 0 else ack(received)

    with fast_kiosk(count=1) as sim, MllpReceiver(sim.device_path, wrong_id_first) as receiver:
        assert sim.wait_finished(DONE_S)
    counters = sim.counters
    assert (counters.stray_acks, counters.timeouts, counters.resent, counters.acked) == (1, 1, 1, 1)
    assert len(receiver.received) == 2


def test_after_max_resends_the_message_is_given_up_and_the_kiosk_moves_on() -> None:
    outcomes: list[DeliveryOutcome] = []
    first_id: list[str | None] = []

    def reject_first_message(received: Received) -> bytes:
        first_id[:] = first_id or [received.control_id]
        return ack(received, "AR" if received.control_id == first_id[0] else "AA")

    sim = fast_kiosk(count=2, max_resends=2, on_delivery=outcomes.append)
    with sim, MllpReceiver(sim.device_path, reject_first_message) as receiver:
        assert sim.wait_finished(DONE_S)
    assert len(receiver.received) == 4
    assert [outcome.acknowledged for outcome in outcomes] == [False, True]
    assert outcomes[0].attempts == 3
    assert [record.control_id for record in sim.failed] == [outcomes[0].record.control_id]
    assert [record.control_id for record in sim.acknowledged] == [outcomes[1].record.control_id]
    assert (sim.counters.gave_up, sim.counters.nak) == (1, 3)


def test_garbled_fault_sends_unreadable_bytes_then_the_good_message() -> None:
    faults = FaultRates(garbled=1.0)
    with fast_kiosk(count=3, faults=faults) as sim, MllpReceiver(sim.device_path) as receiver:
        assert sim.wait_finished(DONE_S)
    received = receiver.received
    assert len(received) == 6
    for bad, good in zip(received[0::2], received[1::2], strict=True):
        assert bad.message is None
        assert good.message is not None
        assert bad.payload != good.payload
    assert [record.control_id for record in sim.acknowledged] == control_ids(received[1::2])
    assert (sim.counters.garbled, sim.counters.acked, sim.counters.resent) == (3, 3, 3)


def test_truncated_fault_sends_a_partial_frame_then_the_full_message() -> None:
    faults = FaultRates(truncated=1.0)
    with fast_kiosk(count=2, faults=faults) as sim, MllpReceiver(sim.device_path) as receiver:
        assert sim.wait_finished(DONE_S)
    received = receiver.received
    assert len(received) == 2
    assert all(item.message is not None for item in received)
    errors = receiver.errors
    assert len(errors) == 2
    assert all(isinstance(error, MllpFramingError) for error in errors)
    assert all(error.reason == "start block inside an open frame" for error in errors)
    raw = receiver.raw
    first_good = raw.index(b"\x0b" + received[0].payload)
    partial = raw[:first_good]
    assert partial.startswith(b"\x0bMSH|")
    assert b"\x1c" not in partial
    assert received[0].payload.startswith(partial[1:])
    assert (sim.counters.truncated, sim.counters.timeouts, sim.counters.acked) == (2, 2, 2)


def test_unplug_repoints_the_link_and_the_kiosk_carries_on(tmp_path: Path) -> None:
    link = tmp_path / "usb-CareKiosk-if00"
    faults = FaultRates(unplug=1.0, unplug_s=0.1)
    with fast_kiosk(count=3, faults=faults, link=link) as sim:
        with MllpReceiver(link) as receiver:
            assert sim.wait_finished(DONE_S)
            assert link.is_symlink()
            assert link.resolve().exists()
        assert sim.error is None
    assert sim.counters.unplugs == 3
    assert receiver.hangups >= 2, "unplugs after the first two messages hang up a connected reader"
    assert len(sim.acknowledged) == 3
    assert not link.exists()


def test_silence_fault_holds_the_next_message_back() -> None:
    arrivals: list[float] = []

    def timed(received: Received) -> bytes:
        arrivals.append(time.monotonic())
        return ack(received)

    faults = FaultRates(silence=1.0, silence_s=0.3)
    started = time.monotonic()
    with fast_kiosk(count=2, faults=faults) as sim, MllpReceiver(sim.device_path, timed):
        assert sim.wait_finished(DONE_S)
    assert arrivals[0] - started >= 0.3
    assert arrivals[1] - arrivals[0] >= 0.3
    assert sim.counters.silences == 2


def test_stop_is_prompt_while_waiting_for_an_ack_and_closes_the_port() -> None:
    sim = KioskSimulator(interval=0.0, ack_timeout=60.0, seed=1)
    sim.start()
    slave = sim.device_path
    with MllpReceiver(slave, respond=lambda received: None):
        wait_until(lambda: sim.counters.sent >= 1, 5.0, "first transmission")
        started = time.monotonic()
        sim.stop()
        assert time.monotonic() - started < 1.0
    assert sim.wait_finished(0)
    assert not slave.exists()
    assert sim.error is None
    assert sim.acknowledged == []
    assert sim.failed == []


def test_bytes_sent_before_the_reader_opens_are_not_lost() -> None:
    with fast_kiosk(count=1) as sim:
        wait_until(lambda: sim.counters.sent >= 1, 5.0, "first transmission")
        with MllpReceiver(sim.device_path) as receiver:
            assert sim.wait_finished(DONE_S)
    assert len(receiver.received) == 1
    assert sim.counters.resent == 0
