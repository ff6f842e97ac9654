"""Original-mode acknowledgements (ACK) for a received message: AA taken, AE not taken.

Built from the received MSH only (``MessageHeader``), so no patient data can reach an ACK. The ACK
uses the sender's separators and character set, swaps sending and receiving application and
facility, echoes the sender's control ID in MSA-2 and, for AE, says why in MSA-3 (read by v2.3/2.4
devices) and in an ERR segment laid out as in v2.5 (ERR-2 location, ERR-3 table 0357 code, ERR-4
severity, ERR-8 text).
"""

from __future__ import annotations

from datetime import UTC, datetime

import hl7

from drivers.hl7.errors import APPLICATION_ERROR, HL7_ERROR_CODES, MessageHeader, Position

ACCEPT = "AA"
ERROR = "AE"
MSA_TEXT_MAX = 80
"""MSA-3 is ST(80) in v2.3-v2.5."""
ERROR_TABLE = "HL70357"
SEVERITY_ERROR = "E"
ACK_MESSAGE_TYPE = "ACK"
_SWAPPED_FIELDS = ((3, 5), (4, 6), (5, 3), (6, 4))
"""(ACK field, received field): our application and facility are what the sender addressed."""
_COPIED_FIELDS = (11, 12, 18)
"""Processing ID, version and character set answer in kind."""
ACK_LAST_FIELD = 18
SEGMENT_END = "\r"
"""Ends every segment, the last one too (as the hl7 library writes messages)."""
MESSAGE_TYPE_FIELD = 9


def accept_ack(header: MessageHeader, *, now: datetime | None = None, ack_id: str | None = None) -> bytes:
    """ACK AA for the message ``header`` came from. ``now`` (default: the clock) goes to MSH-7 in UTC;
    ``ack_id`` (default: a generated one) is the ACK's own control ID."""
    return _ack_text(header, ACCEPT, now, ack_id).encode(header.charset, "replace")


def error_ack(
    header: MessageHeader,
    reason: str,
    text: str,
    *,
    position: Position | None = None,
    now: datetime | None = None,
    ack_id: str | None = None,
) -> bytes:
    """ACK AE: the message was not taken because of ``reason`` (a machine code); ``text`` says where
    and what for people. ``text`` must hold no patient data (``Hl7Error.text`` never does)."""
    ack = hl7.parse(_ack_text(header, ERROR, now, ack_id))
    ack.segment("MSA").assign_field(ack.escape(f"{reason}: {text}"[:MSA_TEXT_MAX]), 3)
    err = ack.create_segment([ack.create_field(["ERR"])])
    if position is not None:
        err.assign_field(position.segment, 2, 1, 1)
        err.assign_field(str(position.occurrence), 2, 1, 2)
        if position.field is not None:
            err.assign_field(str(position.field), 2, 1, 3)
    code, name = HL7_ERROR_CODES.get(reason, APPLICATION_ERROR)
    err.assign_field(code, 3, 1, 1)
    err.assign_field(name, 3, 1, 2)
    err.assign_field(ERROR_TABLE, 3, 1, 3)
    err.assign_field(SEVERITY_ERROR, 4)
    err.assign_field(ack.escape(f"{reason}: {text}"), 8)
    ack.append(err)
    return str(ack).encode(header.charset, "replace")


def _ack_text(header: MessageHeader, code: str, now: datetime | None, ack_id: str | None) -> str:
    """ACK and MSA as text, from the received MSH split on its own field separator: every kiosk
    message is answered, and re-parsing the MSH into the hl7 library's containers to copy a few
    fields cost more than reading the whole message. ``hl7.Message.create_ack`` is not used: it
    fails on an MSH that omits fields it copies (MSH-9.2, MSH-11, MSH-12), and such an MSH still
    deserves an answer. A character the sender lacks (from a salvaged header) becomes "?"."""
    msh = _Msh(header.msh)
    fields = [""] * (ACK_LAST_FIELD + 1)
    for field, copied_from in _SWAPPED_FIELDS:
        fields[field] = msh.field(copied_from)
    fields[7] = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")
    fields[9] = msh.component.join((ACK_MESSAGE_TYPE, msh.trigger(), ACK_MESSAGE_TYPE))
    fields[10] = ack_id or hl7.generate_message_control_id()
    for field in _COPIED_FIELDS:
        fields[field] = msh.field(field)
    last = max(field for field, value in enumerate(fields) if value)
    separator = msh.separator
    ack_msh = separator.join(["MSH", msh.encoding_characters, *fields[3 : last + 1]])
    return f"{ack_msh}{SEGMENT_END}{separator.join(['MSA', code, header.control_id])}{SEGMENT_END}"


class _Msh:
    """The received MSH as the hl7 library reads it (its separators and defaults), split only as far
    as the ACK needs."""

    def __init__(self, text: str) -> None:
        text = text.strip()
        self.separator = text[3]
        self._fields = text.split(self.separator)
        self.encoding_characters = self._fields[1]
        declared = self.encoding_characters
        self.component = declared[0] if len(declared) > 0 else "^"
        self._repetition = declared[1] if len(declared) > 1 else "~"
        self._escape = declared[2] if len(declared) > 2 else "\\"
        self._subcomponent = declared[3] if len(declared) > 3 else "&"

    def field(self, number: int) -> str:
        """MSH-``number`` (from 3) as received, components and all; "" when the sender stopped before it."""
        return self._fields[number - 1] if number - 1 < len(self._fields) else ""

    def trigger(self) -> str:
        """MSH-9.2 (first repetition, first subcomponent), unescaped; "" when absent."""
        repetition = self.field(MESSAGE_TYPE_FIELD).split(self._repetition, 1)[0]
        components = repetition.split(self.component)
        if len(components) < 2:
            return ""
        trigger = components[1].split(self._subcomponent, 1)[0]
        if self._escape not in trigger:
            return trigger
        separators = f"{SEGMENT_END}{self.separator}{self._repetition}{self.component}{self._subcomponent}"
        return str(hl7.Message(esc=self._escape, separators=separators).unescape(trigger))
