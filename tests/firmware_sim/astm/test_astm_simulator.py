"""The analyzer simulator's sender side of E1381 against a scriptable host on the pty."""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable
from pathlib import Path

from astm_host import AstmHost, HostEvent, acknowledge_all

from careedge_testkit.servers import wait_until
from drivers.astm.frames import ENQ, EOT, MAX_FRAME_BYTES, NAK, Frame
from firmware_sim.astm import AnalyzerKind, AstmAnalyzerSimulator, FaultRates
from firmware_sim.astm.sender import MAX_FRAME_ATTEMPTS, SenderTimers

TIME_SCALE = 0.05
TIMERS = SenderTimers.scaled(TIME_SCALE)
fast_analyzer = functools.partial(
    AstmAnalyzerSimulator, interval=0.0, time_scale=TIME_SCALE, retry_interval=0.01, residents=5, seed=5
)
DONE_S = 20.0


def transmissions(events: list[HostEvent]) -> list[list[HostEvent]]:
    """Events from each ENQ to the EOT that ends it."""
    groups: list[list[HostEvent]] = []
    for event in events:
        if event.kind == "enq":
            groups.append([])
        if groups:
            groups[-1].append(event)
    return groups


def records(frames: list[Frame]) -> tuple[bytes, ...]:
    return tuple(record for record in b"".join(frame.text for frame in frames).split(b"\r") if record)


def once(condition: Callable[[HostEvent], bool], reply: bytes | None) -> Callable[[HostEvent], bytes | None]:
    """Answer ``reply`` to the first event meeting ``condition``; ACK as usual otherwise."""
    done: list[bool] = []

    def respond(event: HostEvent) -> bytes | None:
        if not done and condition(event):
            done.append(True)
            return reply
        return acknowledge_all(event)

    return respond


def test_a_transmission_is_enq_numbered_frames_and_eot() -> None:
    with fast_analyzer(analyzer=AnalyzerKind.LIPID, count=2) as sim, AstmHost(sim.device_path) as host:
        assert sim.wait_finished(DONE_S)

    groups = transmissions(host.events)
    assert len(groups) == 2
    for group, transmission in zip(groups, sim.acknowledged, strict=True):
        assert group[0].kind == "enq"
        assert group[-1].kind == "eot"
        frames = [event.frame for event in group[1:-1] if event.frame is not None]
        assert len(frames) == len(group) - 2
        assert [frame.number for frame in frames] == [n % 8 for n in range(1, len(frames) + 1)]
        assert records(frames) == transmission.records
        assert any(not frame.final and len(frame.text) == 240 for frame in frames), "the long comment"
        assert all(len(event.raw) <= MAX_FRAME_BYTES for event in group)
    counters = sim.counters
    assert (counters.delivered, counters.naks, counters.retransmits, counters.timeouts) == (2, 0, 0, 0)


def test_a_nak_makes_the_analyzer_send_the_same_frame_again() -> None:
    respond = once(lambda event: event.frame is not None and event.frame.number == 2, bytes([NAK]))
    with fast_analyzer(count=1) as sim, AstmHost(sim.device_path, respond) as host:
        assert sim.wait_finished(DONE_S)

    [group] = transmissions(host.events)
    raws = [event.raw for event in group if event.kind == "frame"]
    assert raws[1] == raws[2]
    assert [frame.number for frame in host.frames()][:4] == [1, 2, 2, 3]
    assert (sim.counters.naks, sim.counters.retransmits, sim.counters.delivered) == (1, 1, 1)


def test_a_frame_refused_six_times_ends_the_attempt_and_the_message_is_sent_again() -> None:
    refusals: list[HostEvent] = []

    def refuse_frame_three(event: HostEvent) -> bytes | None:
        if event.frame is not None and event.frame.number == 3 and len(refusals) < MAX_FRAME_ATTEMPTS:
            refusals.append(event)
            return bytes([NAK])
        return acknowledge_all(event)

    with fast_analyzer(count=1) as sim, AstmHost(sim.device_path, refuse_frame_three) as host:
        assert sim.wait_finished(DONE_S)

    first, second = transmissions(host.events)
    assert [event.frame.number for event in first if event.frame is not None] == [1, 2, 3, 3, 3, 3, 3, 3]
    assert first[-1].kind == "eot"
    assert (
        records([event.frame for event in second if event.frame is not None]) == sim.acknowledged[0].records
    )
    assert (sim.counters.aborts, sim.counters.attempts, sim.counters.delivered) == (1, 2, 1)


def test_a_busy_receiver_is_asked_again_after_the_busy_wait() -> None:
    respond = once(lambda event: event.kind == "enq", bytes([NAK]))
    with fast_analyzer(count=1) as sim, AstmHost(sim.device_path, respond) as host:
        assert sim.wait_finished(DONE_S)

    enquiries = [event for event in host.events if event.kind == "enq"]
    assert len(enquiries) == 2
    assert enquiries[1].at - enquiries[0].at >= TIMERS.busy_retry_s
    assert (sim.counters.busy, sim.counters.delivered) == (1, 1)


def test_on_contention_the_instrument_waits_and_asks_again() -> None:
    respond = once(lambda event: event.kind == "enq", bytes([ENQ]))
    with fast_analyzer(count=1) as sim, AstmHost(sim.device_path, respond) as host:
        assert sim.wait_finished(DONE_S)

    enquiries = [event for event in host.events if event.kind == "enq"]
    assert len(enquiries) == 2
    assert enquiries[1].at - enquiries[0].at >= TIMERS.contention_retry_s
    assert not any(event.kind == "eot" for event in host.events[:2]), "contention is not a termination"
    assert (sim.counters.contentions, sim.counters.delivered) == (1, 1)


def test_no_reply_to_enq_ends_the_attempt_with_eot_after_the_reply_timeout() -> None:
    respond = once(lambda event: event.kind == "enq", None)
    with fast_analyzer(count=1) as sim, AstmHost(sim.device_path, respond) as host:
        assert sim.wait_finished(DONE_S)

    first, last = host.events[0], host.events[1]
    assert (first.kind, last.kind) == ("enq", "eot")
    assert last.at - first.at >= TIMERS.reply_s
    assert (sim.counters.timeouts, sim.counters.attempts, sim.counters.delivered) == (1, 2, 1)


def test_eot_in_reply_to_a_frame_is_taken_as_ack() -> None:
    respond = once(lambda event: event.kind == "frame", bytes([EOT]))
    with fast_analyzer(count=1) as sim, AstmHost(sim.device_path, respond) as host:
        assert sim.wait_finished(DONE_S)

    numbers = [frame.number for frame in host.frames()]
    assert numbers[:2] == [1, 2]
    assert (sim.counters.interrupts, sim.counters.retransmits, sim.counters.delivered) == (1, 0, 1)


def test_any_other_reply_to_a_frame_is_taken_as_nak() -> None:
    respond = once(lambda event: event.kind == "frame", b"?")
    with fast_analyzer(count=1) as sim, AstmHost(sim.device_path, respond) as host:
        assert sim.wait_finished(DONE_S)

    assert [frame.number for frame in host.frames()][:3] == [1, 1, 2]
    assert (sim.counters.naks, sim.counters.retransmits) == (1, 1)


def refuse_bad_frames(event: HostEvent) -> bytes | None:
    return bytes([NAK]) if event.kind == "bad_frame" else acknowledge_all(event)


def test_bad_checksum_fault_sends_one_refusable_copy_then_the_good_frame() -> None:
    faults = FaultRates(bad_checksum=1.0)
    with fast_analyzer(count=3, faults=faults) as sim, AstmHost(sim.device_path, refuse_bad_frames) as host:
        assert sim.wait_finished(DONE_S)

    events = host.events
    bad = [index for index, event in enumerate(events) if event.kind == "bad_frame"]
    assert len(bad) == 3
    for index in bad:
        assert events[index].reason == "bad_checksum"
        retransmitted = events[index + 1]
        assert retransmitted.frame is not None
        assert retransmitted.raw[:-4] == events[index].raw[:-4], "same frame, right checksum"
    assert (sim.counters.bad_checksums, sim.counters.delivered) == (3, 3)


def test_bad_frame_number_fault_numbers_one_frame_one_too_far() -> None:
    expected: list[int] = []

    def check_numbers(event: HostEvent) -> bytes | None:
        if event.kind == "enq":
            expected[:] = [1]
        if event.frame is not None:
            if event.frame.number != expected[0]:
                return bytes([NAK])
            expected[0] = (expected[0] + 1) % 8
        return acknowledge_all(event)

    faults = FaultRates(bad_frame_number=1.0)
    with fast_analyzer(count=3, faults=faults) as sim, AstmHost(sim.device_path, check_numbers) as host:
        assert sim.wait_finished(DONE_S)

    frames = host.frames()
    wrong = [(a, b) for a, b in itertools.pairwise(frames) if b.text == a.text and b.number != a.number]
    assert len(wrong) == 3
    assert all(b.number == (a.number - 1) % 8 for a, b in wrong)
    assert (sim.counters.bad_frame_numbers, sim.counters.naks, sim.counters.delivered) == (3, 3, 3)


def test_garbled_ack_fault_repeats_a_frame_the_receiver_already_has() -> None:
    with fast_analyzer(count=2, faults=FaultRates(garbled_ack=1.0)) as sim, AstmHost(sim.device_path) as host:
        assert sim.wait_finished(DONE_S)

    frames = host.frames()
    repeats = [(a, b) for a, b in itertools.pairwise(frames) if a == b]
    assert len(repeats) == 2
    assert (sim.counters.garbled_acks, sim.counters.delivered) == (2, 2)


def test_lost_ack_fault_ends_the_attempt_after_the_reply_timeout() -> None:
    with fast_analyzer(count=2, faults=FaultRates(lost_ack=1.0)) as sim, AstmHost(sim.device_path) as host:
        assert sim.wait_finished(DONE_S)

    groups = transmissions(host.events)
    assert len(groups) == 4
    for failed in groups[0::2]:
        assert failed[-1].kind == "eot"
        assert failed[-1].at - failed[-2].at >= TIMERS.reply_s
    assert [records(host_frames(group)) for group in groups[1::2]] == [t.records for t in sim.acknowledged]
    assert (sim.counters.lost_acks, sim.counters.attempts, sim.counters.delivered) == (2, 4, 2)


def host_frames(group: list[HostEvent]) -> list[Frame]:
    return [event.frame for event in group if event.frame is not None]


def test_line_noise_fault_sends_bytes_a_receiver_ignores() -> None:
    with fast_analyzer(count=2, faults=FaultRates(line_noise=1.0)) as sim, AstmHost(sim.device_path) as host:
        assert sim.wait_finished(DONE_S)

    assert host.noise > 0
    assert not any(event.kind == "bad_frame" for event in host.events)
    assert (sim.counters.noise_bursts > 0, sim.counters.delivered, sim.counters.retransmits) == (True, 2, 0)


def test_unplug_fault_repoints_the_link_and_the_message_is_sent_again(tmp_path: Path) -> None:
    link = tmp_path / "usb-poc-if00"
    faults = FaultRates(unplug=1.0, unplug_s=0.05)
    with fast_analyzer(count=2, faults=faults, link=link) as sim, AstmHost(link) as host:
        assert sim.wait_finished(DONE_S)
        assert link.resolve().exists()

    assert host.hangups == 2
    assert (sim.counters.unplugs, sim.counters.delivered, sim.counters.attempts) == (2, 2, 4)
    assert not link.exists()


def test_stall_fault_pauses_before_one_frame() -> None:
    faults = FaultRates(stall=1.0, stall_s=0.2)
    with fast_analyzer(count=1, faults=faults) as sim, AstmHost(sim.device_path) as host:
        assert sim.wait_finished(DONE_S)

    events = host.events
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(events)]
    assert max(gaps) >= 0.2
    assert (sim.counters.stalls, sim.counters.delivered) == (1, 1)


def test_stop_is_prompt_while_waiting_for_a_reply_and_closes_the_port() -> None:
    sim = AstmAnalyzerSimulator(interval=0.0, seed=1)
    sim.start()
    path = sim.device_path
    with AstmHost(path, respond=lambda event: None) as host:
        wait_until(lambda: host.events, 5.0, "the first ENQ")
        started = time.monotonic()
        sim.stop()
        assert time.monotonic() - started < 1.0
    assert sim.wait_finished(0)
    assert not path.exists()
    assert sim.error is None
    assert (sim.acknowledged, sim.failed) == ([], [])


def test_a_transmission_is_given_up_after_max_attempts() -> None:
    with fast_analyzer(count=1, max_attempts=2) as sim, AstmHost(sim.device_path, lambda event: None) as host:
        assert sim.wait_finished(DONE_S)

    assert [event.kind for event in host.events] == ["enq", "eot", "enq", "eot"]
    assert [t.number for t in sim.failed] == [1]
    assert (sim.counters.gave_up, sim.counters.delivered) == (1, 0)
