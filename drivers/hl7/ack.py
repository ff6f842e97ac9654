"""Original-mode acknowledgements (ACK) for a received message: AA taken, AE not taken.

Built from the received MSH only (``MessageHeader``), so no patient data can reach an ACK. The ACK
uses the sender's separators and character set, swaps sending and receiving application and
facility, echoes the sender's control ID in MSA-2 and, for AE, says why in MSA-3 (read by v2.3/2.4
devices) and in an ERR segment laid out as in v2.5 (ERR-2 location, ERR-3 table 0357 code, ERR-4
severity, ERR-8 text).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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


def accept_ack(header: MessageHeader, *, now: datetime | None = None, ack_id: str | None = None) -> bytes:
    """ACK AA for the message ``header`` came from. ``now`` (default: the clock) goes to MSH-7 in UTC;
    ``ack_id`` (default: a generated one) is the ACK's own control ID."""
    return _encode(header, _ack(header, ACCEPT, now, ack_id))


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
    ack = _ack(header, ERROR, now, ack_id)
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
    return _encode(header, ack)


def _ack(header: MessageHeader, code: str, now: datetime | None, ack_id: str | None) -> Any:
    """ACK and MSA built field by field: ``hl7.Message.create_ack`` fails on an MSH that omits
    fields it copies (MSH-9.2, MSH-11, MSH-12), and such an MSH still deserves an answer."""
    received = hl7.parse(header.msh)
    source = received.segment("MSH")
    msh = received.create_segment([received.create_field(["MSH"])])
    msh.assign_field(str(source(1)), 1)
    msh.assign_field(str(source(2)), 2)
    for field, copied_from in _SWAPPED_FIELDS:
        msh.assign_field(_field(source, copied_from), field)
    msh.assign_field((now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d%H%M%S+0000"), 7)
    msh.assign_field(ACK_MESSAGE_TYPE, 9, 1, 1)
    msh.assign_field(_trigger(source), 9, 1, 2)
    msh.assign_field(ACK_MESSAGE_TYPE, 9, 1, 3)
    msh.assign_field(ack_id or hl7.generate_message_control_id(), 10)
    for field in _COPIED_FIELDS:
        if value := _field(source, field):
            msh.assign_field(value, field)
    msa = received.create_segment([received.create_field(["MSA"])])
    msa.assign_field(code, 1)
    msa.assign_field(header.control_id, 2)
    return received.create_message([msh, msa])


def _field(msh: Any, field: int) -> str:
    """MSH-``field`` as received (components and all); "" when the sender stopped before it."""
    return str(msh(field)) if field < len(msh) else ""


def _trigger(msh: Any) -> str:
    try:
        return str(msh.extract_field(1, 9, 1, 2, 1))
    except IndexError:
        return ""


def _encode(header: MessageHeader, ack: Any) -> bytes:
    """In the sender's character set; a character it lacks (from a salvaged header) becomes "?"."""
    return str(ack).encode(header.charset, "replace")
