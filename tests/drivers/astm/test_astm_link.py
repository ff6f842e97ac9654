"""The E1381 receiver state machine on bytes, with a hand-driven clock: every transition, no sleeps."""

from __future__ import annotations

import pytest

from drivers.astm.errors import LinkReason
from drivers.astm.frames import Frame, encode_frame, transmission_frames
from drivers.astm.link import (
    AstmReceiver,
    LinkEvent,
    LinkPhase,
    LinkProblem,
    LinkTimeouts,
    MessageReceived,
    TransmissionEnded,
    TransmissionStarted,
)

ENQ, ACK, NAK, EOT = b"\x05", b"\x06", b"\x15", b"\x04"
HEADER = b"H|\\^&|||METER^1.0|||||||P|1|20250314090000"
PATIENT = b"P|1||CH000101"
RESULT = b"R|1|^^^GLU|6.2|mmol/L||N||F||||20250314085900"
TERMINATOR = b"L|1|N"
MESSAGE = (HEADER, PATIENT, RESULT, TERMINATOR)


def frames(*records: bytes) -> list[bytes]:
    return [encode_frame(frame) for frame in transmission_frames(records)]


class Link:
    """A receiver and the clock the test moves by hand."""

    def __init__(self, frame_s: float = 30.0, verdict_s: float = 10.0, busy_s: float = 10.0) -> None:
        self.receiver = AstmReceiver(LinkTimeouts(frame_s=frame_s, verdict_s=verdict_s, busy_s=busy_s))
        self.now = 0.0

    def send(self, data: bytes, at: float | None = None) -> list[LinkEvent]:
        if at is not None:
            self.now = at
        return self.receiver.receive(data, self.now)

    def replies(self) -> bytes:
        return self.receiver.data_to_send()

    def deliver_up_to_the_last_frame(self, *records: bytes) -> list[LinkEvent]:
        """ENQ and every frame; returns the events of the last frame, whose answer is held."""
        wire = frames(*records)
        assert self.send(ENQ) == [TransmissionStarted()]
        for frame in wire[:-1]:
            assert self.send(frame) == []
        events = self.send(wire[-1])
        assert self.replies() == ACK * len(wire)
        return events


def problems(events: list[LinkEvent]) -> list[LinkReason]:
    return [event.reason for event in events if isinstance(event, LinkProblem)]


def test_enq_opens_a_transmission() -> None:
    link = Link()

    assert link.send(ENQ) == [TransmissionStarted()]
    assert link.replies() == ACK
    assert link.receiver.phase is LinkPhase.TRANSFER
    assert link.receiver.deadline == 30.0


def test_noise_in_the_neutral_state_is_counted_and_never_answered() -> None:
    link = Link()

    events = link.send(b"\x00garbage\x06\x15" + EOT)

    assert problems(events) == [LinkReason.LINE_NOISE]
    assert "10 bytes" in events[0].detail  # type: ignore[union-attr]
    assert link.replies() == b""
    assert link.receiver.phase is LinkPhase.NEUTRAL


def test_the_frame_completing_the_l_record_is_answered_only_on_accept() -> None:
    link = Link()

    events = link.deliver_up_to_the_last_frame(*MESSAGE)

    assert events == [MessageReceived(MESSAGE, hold=1)]
    assert link.receiver.phase is LinkPhase.HOLDING
    assert link.receiver.deadline == 10.0
    assert link.send(b"", at=5.0) == []
    assert link.replies() == b""
    assert link.receiver.accept(1, link.now)
    assert link.replies() == ACK
    assert link.send(EOT) == [TransmissionEnded()]
    assert link.receiver.phase is LinkPhase.NEUTRAL


def test_a_record_split_over_etb_frames_is_reassembled() -> None:
    comment = b"C|1|I|" + b"lot 4711 " * 60
    link = Link()

    events = link.deliver_up_to_the_last_frame(HEADER, comment, RESULT, TERMINATOR)

    assert len(frames(HEADER, comment, RESULT, TERMINATOR)) == 6
    assert events == [MessageReceived((HEADER, comment, RESULT, TERMINATOR), hold=1)]


def test_reject_answers_nak_and_the_retransmitted_frame_offers_the_same_message_again() -> None:
    link = Link()
    link.deliver_up_to_the_last_frame(*MESSAGE)
    last = frames(*MESSAGE)[-1]

    assert link.receiver.reject(1, link.now)
    assert link.replies() == NAK
    events = link.send(last)

    assert events == [MessageReceived(MESSAGE, hold=2)]
    assert not link.receiver.accept(1, link.now), "an old hold cannot answer the new one"
    assert link.receiver.accept(2, link.now)
    assert link.replies() == ACK


def test_without_a_verdict_the_held_frame_is_answered_nak_inside_the_senders_wait() -> None:
    link = Link(verdict_s=10.0)
    link.deliver_up_to_the_last_frame(*MESSAGE)

    assert link.receiver.expire(9.99) == []
    events = link.receiver.expire(10.0)

    assert problems(events) == [LinkReason.VERDICT_TIMEOUT]
    assert link.replies() == NAK
    assert not link.receiver.accept(1, 10.5), "a late accept sends nothing"
    assert link.replies() == b""
    assert link.receiver.phase is LinkPhase.TRANSFER


def test_receive_also_expires_an_overdue_verdict() -> None:
    link = Link(verdict_s=10.0)
    link.deliver_up_to_the_last_frame(*MESSAGE)

    events = link.send(b"", at=12.0)

    assert problems(events) == [LinkReason.VERDICT_TIMEOUT]
    assert link.replies() == NAK


def test_bytes_arriving_while_a_frame_is_held_are_read_after_the_verdict() -> None:
    link = Link()
    wire = frames(*MESSAGE)
    link.send(ENQ + b"".join(wire[:-1]))
    link.replies()

    events = link.send(wire[-1] + EOT)

    assert events == [MessageReceived(MESSAGE, hold=1)]
    link.receiver.accept(1, link.now)
    assert link.send(b"") == [TransmissionEnded()]
    assert link.replies() == ACK


def test_a_bad_checksum_is_answered_nak_and_the_retransmission_is_taken() -> None:
    link = Link()
    link.send(ENQ)
    good = frames(*MESSAGE)
    corrupted = good[0].replace(b"METER", b"METEX")

    events = link.send(corrupted)

    assert problems(events) == [LinkReason.BAD_CHECKSUM]
    assert link.replies() == ACK + NAK
    for frame in good[:-1]:
        link.send(frame)
    assert link.send(good[-1]) == [MessageReceived(MESSAGE, hold=1)]


def test_a_frame_number_out_of_sequence_is_answered_nak() -> None:
    link = Link()
    link.send(ENQ)
    wire = frames(*MESSAGE)
    link.send(wire[0])

    events = link.send(encode_frame(Frame(3, PATIENT + b"\r", final=True)))

    assert problems(events) == [LinkReason.BAD_FRAME_NUMBER]
    assert "frame 2, found frame 3" in events[0].detail  # type: ignore[union-attr]
    assert link.replies() == ACK + ACK + NAK


def test_the_first_frame_must_be_number_one() -> None:
    link = Link()
    link.send(ENQ)

    events = link.send(encode_frame(Frame(0, HEADER + b"\r", final=True)))

    assert problems(events) == [LinkReason.BAD_FRAME_NUMBER]
    assert link.replies() == ACK + NAK


def test_the_previous_frame_again_is_acknowledged_and_its_copy_discarded() -> None:
    link = Link()
    wire = frames(*MESSAGE)
    link.send(ENQ + wire[0] + wire[1])

    events = link.send(wire[1])

    assert problems(events) == [LinkReason.DUPLICATE_FRAME]
    assert link.replies() == ACK * 4
    link.send(wire[2])
    assert link.send(wire[3]) == [MessageReceived(MESSAGE, hold=1)]


def test_a_repeated_final_frame_after_accept_is_not_offered_twice() -> None:
    link = Link()
    link.deliver_up_to_the_last_frame(*MESSAGE)
    link.receiver.accept(1, link.now)
    link.replies()

    events = link.send(frames(*MESSAGE)[-1])

    assert problems(events) == [LinkReason.DUPLICATE_FRAME]
    assert link.replies() == ACK


def test_frame_numbers_wrap_from_seven_to_zero() -> None:
    records = (HEADER, *(RESULT.replace(b"R|1", f"R|{n}".encode()) for n in range(1, 9)), TERMINATOR)
    link = Link()

    events = link.deliver_up_to_the_last_frame(*records)

    assert events == [MessageReceived(records, hold=1)]


def test_no_frame_within_the_receiver_timeout_abandons_the_transmission() -> None:
    link = Link(frame_s=30.0)
    wire = frames(*MESSAGE)
    link.send(ENQ + wire[0] + wire[1])
    link.replies()

    assert link.send(b"", at=29.99) == []
    events = link.send(b"", at=30.0)

    assert problems(events) == [LinkReason.TIMEOUT]
    assert "2 unfinished records discarded" in events[0].detail  # type: ignore[union-attr]
    assert link.receiver.phase is LinkPhase.NEUTRAL
    assert problems(link.send(wire[2])) == [LinkReason.LINE_NOISE]
    assert link.replies() == b"", "a frame after the timeout gets no answer: the sender times out too"


def test_each_reply_restarts_the_receiver_timer() -> None:
    link = Link(frame_s=30.0)
    wire = frames(*MESSAGE)
    link.send(ENQ)

    link.send(wire[0], at=25.0)
    link.send(wire[1], at=50.0)

    assert link.receiver.phase is LinkPhase.TRANSFER
    assert link.receiver.deadline == 80.0


def test_eot_after_nak_is_a_sender_giving_up_and_nothing_is_offered() -> None:
    link = Link()
    wire = frames(*MESSAGE)
    link.send(ENQ + wire[0] + wire[1])
    bad = wire[2].replace(b"6.2", b"6.3")

    for _ in range(6):
        assert problems(link.send(bad)) == [LinkReason.BAD_CHECKSUM]
    events = link.send(EOT)

    assert problems(events) == [LinkReason.SENDER_ABORTED]
    assert events[-1] == TransmissionEnded()
    assert link.replies() == ACK * 3 + NAK * 6


def test_eot_before_the_l_record_discards_the_unfinished_message() -> None:
    link = Link()
    wire = frames(*MESSAGE)

    events = link.send(ENQ + b"".join(wire[:3]) + EOT)

    assert problems(events) == [LinkReason.NO_TERMINATOR]
    assert not any(isinstance(event, MessageReceived) for event in events)
    assert "3 unfinished records discarded" in str(events)


def test_a_refused_message_makes_the_next_enq_busy_for_a_while() -> None:
    link = Link(busy_s=10.0)
    link.deliver_up_to_the_last_frame(*MESSAGE)
    link.receiver.reject(1, 0.0)
    link.send(EOT)
    link.replies()

    events = link.send(ENQ, at=9.0)

    assert problems(events) == [LinkReason.BUSY]
    assert link.replies() == NAK
    assert link.receiver.phase is LinkPhase.NEUTRAL
    assert link.send(ENQ, at=10.0) == [TransmissionStarted()]
    assert link.replies() == ACK


def test_enq_in_the_middle_of_a_transmission_starts_over() -> None:
    link = Link()
    wire = frames(*MESSAGE)
    link.send(ENQ + wire[0] + wire[1])

    events = link.send(ENQ)

    assert problems(events) == [LinkReason.INTERRUPTED]
    assert events[-1] == TransmissionStarted()
    for frame in wire[:-1]:
        link.send(frame)
    assert link.send(wire[-1]) == [MessageReceived(MESSAGE, hold=1)]


def test_stx_inside_a_frame_drops_the_broken_frame_and_reads_the_new_one() -> None:
    link = Link()
    wire = frames(*MESSAGE)
    link.send(ENQ)
    link.replies()

    events = link.send(wire[0][:10] + wire[0])

    assert problems(events) == [LinkReason.BAD_FRAME]
    assert link.replies() == ACK


def test_eot_inside_a_frame_ends_the_transmission() -> None:
    link = Link()
    wire = frames(*MESSAGE)
    link.send(ENQ + wire[0])

    events = link.send(wire[1][:8] + EOT)

    assert problems(events) == [LinkReason.BAD_FRAME, LinkReason.NO_TERMINATOR]
    assert events[-1] == TransmissionEnded()


def test_a_frame_longer_than_247_bytes_is_answered_nak() -> None:
    link = Link()
    link.send(ENQ)
    text = b"C|1|I|" + b"z" * 300 + b"\r"

    events = link.send(b"\x021" + text + b"\x0300\r\n")

    assert problems(events) == [LinkReason.FRAME_TOO_LONG]
    assert link.replies() == ACK + NAK


def test_a_message_beyond_the_size_limit_is_refused() -> None:
    link = Link()
    link.receiver = AstmReceiver(LinkTimeouts(), max_message_bytes=80)
    wire = frames(HEADER, RESULT, RESULT.replace(b"R|1", b"R|2"), TERMINATOR)
    link.send(ENQ + wire[0])

    events = link.send(wire[1])

    assert problems(events) == [LinkReason.MESSAGE_OVERSIZE]
    assert link.replies() == ACK + ACK + NAK


def test_noise_between_frames_is_ignored() -> None:
    link = Link()
    wire = frames(*MESSAGE)
    link.send(ENQ + wire[0])

    events = link.send(b"\xff\xfe" + wire[1])

    assert problems(events) == [LinkReason.LINE_NOISE]
    assert link.replies() == ACK * 3


def test_a_sender_that_omits_lf_is_understood() -> None:
    link = Link()
    wire = [frame.removesuffix(b"\n") for frame in frames(*MESSAGE)]

    events = link.send(ENQ + b"".join(wire))

    assert events[-1] == MessageReceived(MESSAGE, hold=1)
    assert link.replies() == ACK * 4


def test_two_messages_in_one_transmission_are_offered_one_after_the_other() -> None:
    second = (HEADER, b"P|1||CH000102", RESULT, TERMINATOR)
    wire = frames(*MESSAGE, *second)
    link = Link()

    events = link.send(ENQ + b"".join(wire) + EOT)

    assert events == [TransmissionStarted(), MessageReceived(MESSAGE, hold=1)]
    link.receiver.accept(1, link.now)
    assert link.send(b"") == [MessageReceived(second, hold=2)]
    link.receiver.accept(2, link.now)
    assert link.send(b"") == [TransmissionEnded()]
    assert link.replies() == ACK * 9


@pytest.mark.parametrize("chunk", [1, 2, 7, 64])
def test_any_chunking_of_the_bytes_gives_the_same_events(chunk: int) -> None:
    data = ENQ + b"\x00" + b"".join(frames(*MESSAGE))
    whole = Link().send(data)
    link = Link()

    events: list[LinkEvent] = []
    for start in range(0, len(data), chunk):
        events.extend(link.send(data[start : start + chunk]))

    assert [event for event in events if not isinstance(event, LinkProblem)] == [
        event for event in whole if not isinstance(event, LinkProblem)
    ]
    assert problems(events) == [LinkReason.LINE_NOISE]


def test_timeouts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        LinkTimeouts(frame_s=0)
