"""The one error type of the HL7 codec, and the message header an answer needs.

Every reason is a short code for rejection counters; the human text names the segment and field.
Neither ever carries a resident's name or ID: texts quote structure (message type, value type,
unit, time stamps) and at most a short OBX-5 of a vital sign (up to 16 characters, the length of an
HL7 number), never a PID field, so they are safe to log and to send back in an ACK.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    ENCODING = "encoding"
    """The bytes are not text in the character set MSH-18 names (UTF-8 when it names none)."""
    PARSE = "parse"
    """Not one HL7 v2 message: no MSH first, or a second MSH."""
    NOT_ORU = "not_oru"
    """MSH-9 is not ORU^R01."""
    NO_CONTROL_ID = "no_control_id"
    """MSH-10 is empty, so the message cannot be acknowledged."""
    BAD_TIMESTAMP = "bad_timestamp"
    """An observation time is not an HL7 DTM, or there is none in OBX-14, OBR-7 and MSH-7."""
    BAD_VALUE = "bad_value"
    """A known observation is not numeric (OBX-2 not NM, or OBX-5 not a number)."""
    BAD_UNIT = "bad_unit"
    """OBX-6 is missing or cannot express the observation."""
    NO_OBSERVATIONS = "no_observations"
    """No OBX carries a known code with a value."""


HL7_ERROR_CODES: dict[str, tuple[str, str]] = {
    Reason.ENCODING: ("102", "Data type error"),
    Reason.PARSE: ("100", "Segment sequence error"),
    Reason.NOT_ORU: ("200", "Unsupported message type"),
    Reason.NO_CONTROL_ID: ("101", "Required field missing"),
    Reason.BAD_TIMESTAMP: ("102", "Data type error"),
    Reason.BAD_VALUE: ("102", "Data type error"),
    Reason.BAD_UNIT: ("103", "Table value not found"),
    Reason.NO_OBSERVATIONS: ("101", "Required field missing"),
}
"""Reason -> HL7 table 0357 (message error condition codes), for ERR-3 of an ACK AE."""
APPLICATION_ERROR = ("207", "Application internal error")
"""Table 0357 code for a reading the gateway itself could not take (reasons from the edge)."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where in a message a problem is: ``OBX[2]-5`` is field 5 of the second OBX segment."""

    segment: str
    occurrence: int = 1
    """1-based among the segments with this ID (not the segment's Set ID field)."""
    field: int | None = None

    def __str__(self) -> str:
        name = self.segment if self.segment == "MSH" else f"{self.segment}[{self.occurrence}]"
        return name if self.field is None else f"{name}-{self.field}"


@dataclass(frozen=True, slots=True)
class MessageHeader:
    """What an acknowledgement needs from the message it answers. Holds no patient data."""

    msh: str
    """The MSH segment as received (with the sender's separators), to build the ACK from."""
    control_id: str
    """MSH-10, never empty: a message without one cannot be acknowledged."""
    charset: str
    """Python codec of the message's character set (MSH-18), for encoding the answer alike."""


class Hl7Error(Exception):
    """A message the codec cannot turn into observations.

    ``reason`` is the machine code (a ``Reason``), ``position`` the segment and field when one is to
    blame, ``detail`` what was expected and found. ``header`` is set when the message's MSH could be
    read with a control ID, so the caller can answer ACK AE; a message without it gets no answer.
    """

    def __init__(
        self,
        reason: Reason,
        detail: str,
        position: Position | None = None,
        header: MessageHeader | None = None,
    ) -> None:
        self.reason = reason
        self.detail = detail
        self.position = position
        self.header = header
        where = f"{position}: " if position is not None else ""
        super().__init__(f"{reason}: {where}{detail}")

    @property
    def control_id(self) -> str | None:
        return self.header.control_id if self.header is not None else None

    @property
    def text(self) -> str:
        """Position and detail without the reason code, for an ACK's error message."""
        return f"{self.position}: {self.detail}" if self.position is not None else self.detail
