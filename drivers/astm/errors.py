"""Reason codes of both ASTM layers, and the one error type of the record layer.

Every reason is a short code for rejection counters. Texts name the record, field and what was
expected and found; they never carry a patient field (P records are never quoted), and a quoted
result value is cut to ``MAX_QUOTED_CHARS``, so they are safe to log.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_QUOTED_CHARS = 16
"""The longest piece of a result value an error text repeats."""


class LinkReason(StrEnum):
    """Why the low-level protocol (E1381) refused or lost something."""

    LINE_NOISE = "line_noise"
    """Bytes outside a frame that are neither ENQ, STX nor EOT: ignored."""
    BAD_FRAME = "bad_frame"
    """A frame not shaped ``STX FN text ETX|ETB C1 C2 CR``, or cut off by STX, ENQ or EOT: NAK."""
    FRAME_TOO_LONG = "frame_too_long"
    """More than 240 bytes of text: NAK."""
    BAD_CHECKSUM = "bad_checksum"
    """NAK; the analyzer retransmits the frame."""
    BAD_CHARACTER = "bad_character"
    """A control character inside the text: NAK."""
    BAD_FRAME_NUMBER = "bad_frame_number"
    """Neither the next frame number nor the previous one: NAK."""
    DUPLICATE_FRAME = "duplicate_frame"
    """The previous frame again (the analyzer missed our ACK): ACK, the copy is discarded."""
    TIMEOUT = "timeout"
    """No frame or EOT within the receiver's 30 s: the unfinished message is discarded."""
    SENDER_ABORTED = "sender_aborted"
    """EOT right after our NAK (the analyzer gave up on a frame): the unfinished message is discarded."""
    INTERRUPTED = "interrupted"
    """ENQ in the middle of a transmission: the analyzer started over; the unfinished part is discarded."""
    VERDICT_TIMEOUT = "verdict_timeout"
    """The edge did not say in time whether the message is stored: NAK, so the analyzer retransmits."""
    BUSY = "busy"
    """ENQ answered NAK shortly after a message was refused: the analyzer retries after 10 s."""
    NO_TERMINATOR = "no_terminator"
    """EOT after our ACK but before the L record: the analyzer gave up (no ACK within its 15 s) or
    never sends L. The unfinished message is discarded; an analyzer that gave up sends it again."""
    MESSAGE_OVERSIZE = "message_oversize"
    """A message grew beyond the receiver's limit: NAK until the analyzer gives up."""
    PARTIAL_TRANSMISSION = "partial_transmission"
    """The port went away in the middle of a transmission (counted by the driver)."""


class Reason(StrEnum):
    """Why the record layer (E1394) refused a message, or left one record of it out."""

    NO_HEADER = "no_header"
    """The message does not begin with an H record. Fatal."""
    BAD_DELIMITERS = "bad_delimiters"
    """H-2 does not define four distinct delimiters. Fatal."""
    RECORD_SEQUENCE = "record_sequence"
    """A second H record inside one message. Fatal."""
    UNMAPPED_CODE = "unmapped_code"
    """R-3 names a test the gateway does not know."""
    NON_NUMERIC = "non_numeric"
    """R-4 is not a number (``NEG``, ``1+``, ``TRACE``), or the test is reported as a category."""
    CENSORED_VALUE = "censored_value"
    """R-4 is a measuring-range limit (``<1.1``, ``>33.3``, ``HI``, ``LO``; or R-7 flag ``<``/``>``)."""
    BAD_VALUE = "bad_value"
    """R-4 is empty."""
    BAD_UNIT = "bad_unit"
    """R-5 is missing or cannot express the test."""
    BAD_TIMESTAMP = "bad_timestamp"
    """The result's time (R-13, else O-8, else H-14) is not YYYYMMDDHHMM[SS], or there is none."""
    NOT_FINAL = "not_final"
    """R-9 says the result is not final (X cannot be done, I pending, P preliminary, S partial,
    W validity questionable, M MIC level)."""
    QUALITY_CONTROL = "quality_control"
    """A result of a control specimen (O-12 action code ``Q``): not a resident's measurement."""
    DUPLICATE_CODE = "duplicate_code"
    """A second result for the same test, resident and time."""
    QUERY_IGNORED = "query_ignored"
    """A Q record (request for orders): the gateway never sends orders, so it is not answered."""
    UNKNOWN_RECORD = "unknown_record"
    """A record type E1394 does not define."""
    AFTER_TERMINATOR = "after_terminator"
    """A record after the L record of its message."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where in a message a problem is: ``R[2]-4 (record 6)`` is field 4 of the second R record,
    the sixth record of the message. Field 1 is the record type; component 1 is the first."""

    record: str
    occurrence: int
    """1-based among the records of this type."""
    index: int
    """1-based among all records of the message."""
    field: int | None = None
    component: int | None = None

    def __str__(self) -> str:
        where = f"{self.record}[{self.occurrence}]"
        if self.field is not None:
            where += f"-{self.field}"
            if self.component is not None:
                where += f".{self.component}"
        return f"{where} (record {self.index})"

    def at(self, field: int, component: int | None = None) -> Position:
        return Position(self.record, self.occurrence, self.index, field, component)


class AstmError(Exception):
    """A message, or one result of it, the record layer cannot turn into observations.

    ``reason`` is the machine code, ``position`` the record and field to blame (None when the
    message as a whole is), ``detail`` what was expected and found.
    """

    def __init__(self, reason: Reason, detail: str, position: Position | None = None) -> None:
        self.reason = reason
        self.detail = detail
        self.position = position
        super().__init__(f"{reason}: {position}: {detail}" if position is not None else f"{reason}: {detail}")


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record left out of an otherwise usable message; counted by ``reason``."""

    reason: Reason
    position: Position
    detail: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.position}: {self.detail}"


def quoted(value: str) -> str:
    """``value`` for an error text: quoted, and cut after ``MAX_QUOTED_CHARS`` characters."""
    if len(value) <= MAX_QUOTED_CHARS:
        return repr(value)
    return repr(value[:MAX_QUOTED_CHARS]) + f" (+{len(value) - MAX_QUOTED_CHARS} characters)"
