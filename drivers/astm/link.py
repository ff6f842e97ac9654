"""The receiver side of ASTM E1381 (CLSI LIS01-A2) as a sans-IO state machine.

Bytes from the analyzer and the current time go in (``receive``); events and the bytes to answer
with (``data_to_send``) come out. No socket, thread or clock inside, so every transition is tested
on bytes with a made-up clock, and the driver only moves bytes between the port and this object.

The gateway is only ever a receiver: it never sends ENQ, so it never meets line contention (both
sides sending ENQ, which the instrument wins); the analyzer's side of contention is
in the simulator. The phases of E1381 (establishment, transfer, termination):

- neutral: ENQ is answered ACK (a transmission begins) or, within ``LinkTimeouts.busy_s`` of a
  refused message, NAK (busy: the analyzer waits 10 s and asks again). Other bytes are line noise.
- transfer: each frame is answered ACK when its checksum and number are right and NAK otherwise
  (the analyzer retransmits it, and gives up after the sixth failure with EOT). A frame numbered
  like the previous one is a retransmission after a lost ACK: ACK again and discard the copy. EOT
  ends the transmission. No frame or EOT for ``frame_s`` (30 s) abandons it.
- holding (ours, not the standard's): the frame that completes an L record, i.e. a whole E1394
  message, is not answered at once. ``MessageReceived`` carries the message's records and a
  ``hold`` id; ``accept`` answers ACK, ``reject`` answers NAK (the analyzer retransmits that frame,
  and the message is offered again). Without a verdict within ``verdict_s``, NAK is sent anyway,
  well inside the analyzer's 15 s wait, so the analyzer never times out because of the gateway.

Durability: an analyzer regards results as sent once every frame carrying them is acknowledged.
Holding the last frame's ACK until the edge has committed the message means an analyzer never
forgets results the gateway has not stored; the price is that a lost final ACK (a line error) makes
the analyzer send the message again, so delivery is at least once and the edge de-duplicates.
Records not followed by an L record are never offered: EOT before L is what a sender sends when it
gives up (six NAKs, or no ACK within its 15 s), and the analyzer keeps and resends that message.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from drivers.astm.errors import LinkReason
from drivers.astm.frames import (
    ACK,
    CR,
    ENQ,
    EOT,
    ETB,
    ETX,
    FRAME_NUMBERS,
    LF,
    MAX_FRAME_BYTES,
    NAK,
    STX,
    FrameError,
    decode_frame,
)

RECEIVER_TIMEOUT_S = 30.0
"""E1381 time-outs: a receiver waits 30 s for a frame or EOT after its last reply."""
SENDER_TIMEOUT_S = 15.0
"""E1381 time-outs: a sender waits 15 s for the reply to ENQ or a frame, then gives up with EOT."""
VERDICT_TIMEOUT_S = SENDER_TIMEOUT_S * 2 / 3
"""How long the final frame's answer waits for the edge: 10 s, leaving 5 s of the sender's wait for
the NAK to reach it on a slow or busy line."""
BUSY_AFTER_REJECT_S = 10.0
"""After a refused message, ENQ is answered NAK this long, so a failing store is not hammered."""
MAX_MESSAGE_BYTES = 4 << 20
"""A glucose meter's whole memory is a few hundred kilobytes; more is a broken sender."""
MAX_HELD_INPUT_BYTES = 64 << 10
"""Bytes kept while a frame awaits its verdict; the sender should be silent meanwhile."""
TRAILER_BYTES = 3
"""C1, C2 and CR follow ETX/ETB; the LF after them is optional here (lenient to senders that omit it)."""
TERMINATOR_RECORD = ord("L")


@dataclass(frozen=True, slots=True)
class LinkTimeouts:
    """Seconds; the defaults are the standard's, tests shrink them."""

    frame_s: float = RECEIVER_TIMEOUT_S
    verdict_s: float = VERDICT_TIMEOUT_S
    busy_s: float = BUSY_AFTER_REJECT_S

    def __post_init__(self) -> None:
        if min(self.frame_s, self.verdict_s) <= 0 or self.busy_s < 0:
            raise ValueError("frame_s and verdict_s must be positive, busy_s not negative")


STANDARD_TIMEOUTS = LinkTimeouts()


class LinkPhase(StrEnum):
    NEUTRAL = "neutral"
    TRANSFER = "transfer"
    HOLDING = "holding"


@dataclass(frozen=True, slots=True)
class TransmissionStarted:
    """ENQ was answered ACK."""


@dataclass(frozen=True, slots=True)
class TransmissionEnded:
    """EOT closed a transmission."""


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """One E1394 message: its records in order, each without its CR."""

    records: tuple[bytes, ...]
    hold: int
    """Pass to ``accept``/``reject``."""


@dataclass(frozen=True, slots=True)
class LinkProblem:
    reason: LinkReason
    detail: str
    """Counts and frame numbers only: never frame text."""


LinkEvent = TransmissionStarted | TransmissionEnded | MessageReceived | LinkProblem


@dataclass(frozen=True, slots=True)
class _Hold:
    id: int
    number: int
    records_before: int
    partial_before: bytes
    size_before: int


class AstmReceiver:
    """One link's receiver. ``now`` is any monotonic clock in seconds, the same for every call."""

    def __init__(
        self, timeouts: LinkTimeouts = LinkTimeouts(), max_message_bytes: int = MAX_MESSAGE_BYTES
    ) -> None:
        self._timeouts = timeouts
        self._max_message_bytes = max_message_bytes
        self._phase = LinkPhase.NEUTRAL
        self._input = bytearray()
        self._output = bytearray()
        self._deadline: float | None = None
        self._busy_until: float | None = None
        self._last_reply = ACK
        self._noise = 0
        self._swallow_lf = False
        self._frame = bytearray()
        self._in_frame = False
        self._frame_oversize = False
        self._trailer_left = 0
        self._last_number: int | None = None
        self._partial = bytearray()
        self._records: list[bytes] = []
        self._size = 0
        self._hold: _Hold | None = None
        self._holds = 0

    @property
    def phase(self) -> LinkPhase:
        return self._phase

    @property
    def deadline(self) -> float | None:
        """When ``receive`` (or ``expire``) must next be called even if no byte arrives."""
        return self._deadline

    def data_to_send(self) -> bytes:
        """The replies (ACK, NAK) produced so far, in order; each is returned once."""
        data = bytes(self._output)
        self._output.clear()
        return data

    def receive(self, data: bytes, now: float) -> list[LinkEvent]:
        """Take ``data`` (may be empty) and act on the time; return what happened, in order.

        While a frame is held, bytes are kept (up to ``MAX_HELD_INPUT_BYTES``) and read after the
        verdict, by the next call.
        """
        events = self.expire(now)
        if self._phase is LinkPhase.HOLDING:
            kept = data[: max(MAX_HELD_INPUT_BYTES - len(self._input), 0)]
            self._noise += len(data) - len(kept)
            data = kept
        self._input += data
        consumed = 0
        while consumed < len(self._input) and self._phase is not LinkPhase.HOLDING:
            self._byte(self._input[consumed], now, events)
            consumed += 1
        del self._input[:consumed]
        if self._noise:
            events.append(LinkProblem(LinkReason.LINE_NOISE, f"{self._noise} bytes outside a frame ignored"))
            self._noise = 0
        if self._phase is LinkPhase.TRANSFER and self._deadline is not None and now >= self._deadline:
            events.append(
                self._abandon(LinkReason.TIMEOUT, f"no frame or EOT for {self._timeouts.frame_s} s")
            )
        return events

    def expire(self, now: float) -> list[LinkEvent]:
        """Answer a held frame NAK once its verdict is overdue; reads no input."""
        hold = self._hold
        if hold is None or self._deadline is None or now < self._deadline:
            return []
        self.reject(hold.id, now)
        return [
            LinkProblem(
                LinkReason.VERDICT_TIMEOUT,
                f"frame {hold.number} answered NAK: no verdict within {self._timeouts.verdict_s} s",
            )
        ]

    def accept(self, hold: int, now: float) -> bool:
        """ACK the held frame ``hold``: its message is stored. False when it is no longer held."""
        current = self._release(hold)
        if current is None:
            return False
        self._last_number = current.number
        self._reset_message()
        self._reply(ACK, now)
        return True

    def reject(self, hold: int, now: float) -> bool:
        """NAK the held frame ``hold``: the analyzer retransmits it and the message is offered again.
        Until ``busy_s`` has passed, a new ENQ is answered NAK. False when it is no longer held."""
        current = self._release(hold)
        if current is None:
            return False
        del self._records[current.records_before :]
        self._partial[:] = current.partial_before
        self._size = current.size_before
        self._busy_until = now + self._timeouts.busy_s
        self._reply(NAK, now)
        return True

    def _release(self, hold: int) -> _Hold | None:
        current = self._hold
        if current is None or current.id != hold:
            return None
        self._hold = None
        self._phase = LinkPhase.TRANSFER
        return current

    def _byte(self, byte: int, now: float, events: list[LinkEvent]) -> None:
        if self._swallow_lf:
            self._swallow_lf = False
            if byte == LF:
                return
        if self._in_frame:
            self._frame_byte(byte, now, events)
        elif byte == ENQ:
            self._enquiry(now, events)
        elif self._phase is LinkPhase.NEUTRAL:
            if byte != EOT:
                self._noise += 1
        elif byte == STX:
            self._start_frame()
        elif byte == EOT:
            self._end(events)
        else:
            self._noise += 1

    def _enquiry(self, now: float, events: list[LinkEvent]) -> None:
        if self._phase is LinkPhase.TRANSFER and (self._records or self._partial):
            events.append(
                self._abandon(LinkReason.INTERRUPTED, "ENQ in the middle of a transmission: starting over")
            )
        if self._busy_until is not None and now < self._busy_until:
            self._phase = LinkPhase.NEUTRAL
            self._deadline = None
            self._output.append(NAK)
            events.append(LinkProblem(LinkReason.BUSY, "ENQ answered NAK: a message was just refused"))
            return
        self._phase = LinkPhase.TRANSFER
        self._last_number = None
        self._reset_message()
        self._reply(ACK, now)
        events.append(TransmissionStarted())

    def _end(self, events: list[LinkEvent]) -> None:
        if self._last_reply == NAK:
            events.append(self._abandon(LinkReason.SENDER_ABORTED, "EOT after NAK"))
        elif self._records or self._partial:
            events.append(self._abandon(LinkReason.NO_TERMINATOR, "EOT before the L record"))
        self._phase = LinkPhase.NEUTRAL
        self._deadline = None
        events.append(TransmissionEnded())

    def _abandon(self, reason: LinkReason, detail: str) -> LinkProblem:
        discarded = len(self._records) + (1 if self._partial else 0)
        self._reset_message()
        self._in_frame = False
        self._phase = LinkPhase.NEUTRAL
        self._deadline = None
        return LinkProblem(reason, f"{detail}; {discarded} unfinished records discarded")

    def _start_frame(self) -> None:
        self._in_frame = True
        self._frame[:] = bytes([STX])
        self._frame_oversize = False
        self._trailer_left = 0

    def _frame_byte(self, byte: int, now: float, events: list[LinkEvent]) -> None:
        if self._trailer_left:
            self._frame.append(byte)
            self._trailer_left -= 1
            if not self._trailer_left:
                self._frame_complete(now, events)
        elif byte in (ETX, ETB):
            self._frame.append(byte)
            self._trailer_left = TRAILER_BYTES
        elif byte == STX:
            events.append(LinkProblem(LinkReason.BAD_FRAME, "STX inside a frame: the frame is dropped"))
            self._start_frame()
        elif byte in (ENQ, EOT):
            events.append(LinkProblem(LinkReason.BAD_FRAME, "frame cut off by ENQ or EOT: dropped"))
            self._in_frame = False
            self._byte(byte, now, events)
        elif len(self._frame) < MAX_FRAME_BYTES:
            self._frame.append(byte)
        else:
            self._frame_oversize = True

    def _frame_complete(self, now: float, events: list[LinkEvent]) -> None:
        self._in_frame = False
        self._swallow_lf = self._frame[-1] == CR
        if self._frame_oversize:
            self._refuse(
                LinkReason.FRAME_TOO_LONG, f"a frame of at most {MAX_FRAME_BYTES} bytes", now, events
            )
            return
        try:
            frame = decode_frame(bytes(self._frame))
        except FrameError as exc:
            self._refuse(exc.reason, exc.detail, now, events)
            return
        expected = 1 if self._last_number is None else (self._last_number + 1) % FRAME_NUMBERS
        if frame.number != expected:
            if frame.number == self._last_number:
                self._reply(ACK, now)
                events.append(
                    LinkProblem(
                        LinkReason.DUPLICATE_FRAME, f"frame {frame.number} again: ACK, copy discarded"
                    )
                )
            else:
                self._refuse(
                    LinkReason.BAD_FRAME_NUMBER, f"frame {expected}, found frame {frame.number}", now, events
                )
            return
        if self._size + len(frame.text) > self._max_message_bytes:
            self._refuse(
                LinkReason.MESSAGE_OVERSIZE,
                f"a message of at most {self._max_message_bytes} bytes",
                now,
                events,
            )
            return
        hold = _Hold(self._holds + 1, frame.number, len(self._records), bytes(self._partial), self._size)
        self._size += len(frame.text)
        self._partial += frame.text
        if not frame.final:
            self._last_number = frame.number
            self._reply(ACK, now)
            return
        completed = [record for record in bytes(self._partial).split(bytes([CR])) if record]
        self._partial.clear()
        self._records.extend(completed)
        if not any(record[0] == TERMINATOR_RECORD for record in completed):
            self._last_number = frame.number
            self._reply(ACK, now)
            return
        self._holds = hold.id
        self._hold = hold
        self._phase = LinkPhase.HOLDING
        self._deadline = now + self._timeouts.verdict_s
        events.append(MessageReceived(tuple(self._records), hold=hold.id))

    def _refuse(self, reason: LinkReason, detail: str, now: float, events: list[LinkEvent]) -> None:
        self._reply(NAK, now)
        events.append(LinkProblem(reason, f"NAK: {detail}"))

    def _reply(self, reply: int, now: float) -> None:
        self._output.append(reply)
        self._last_reply = reply
        self._deadline = now + self._timeouts.frame_s

    def _reset_message(self) -> None:
        self._records.clear()
        self._partial.clear()
        self._size = 0
