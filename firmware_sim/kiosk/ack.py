"""Reading the receiver's HL7 acknowledgement, as the kiosk firmware does.

Original mode (AA/AE/AR) and enhanced-mode commit codes (CA/CE/CR) are both understood: ``AA`` and
``CA`` mean the message is accepted; any other code means "send it again".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import hl7


class AckCode(StrEnum):
    """HL7 table 0008."""

    APPLICATION_ACCEPT = "AA"
    APPLICATION_ERROR = "AE"
    APPLICATION_REJECT = "AR"
    COMMIT_ACCEPT = "CA"
    COMMIT_ERROR = "CE"
    COMMIT_REJECT = "CR"

    @property
    def accepted(self) -> bool:
        return self in (AckCode.APPLICATION_ACCEPT, AckCode.COMMIT_ACCEPT)


@dataclass(frozen=True, slots=True)
class Ack:
    code: AckCode
    control_id: str
    """MSA-2: the MSH-10 of the message being acknowledged."""


class AckError(Exception):
    """A reply that is not a usable ACK; ``reason`` says which part is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_ack(payload: bytes) -> Ack:
    """Parse one de-framed reply; raises ``AckError`` for anything without a valid MSA."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AckError(f"not UTF-8 at byte {exc.start}") from exc
    try:
        message = hl7.parse(text)
        msa = message.segment("MSA")
    except (hl7.HL7Exception, ValueError, KeyError, IndexError) as exc:
        raise AckError(f"no MSA segment ({type(exc).__name__})") from exc
    code_text = str(msa(1)) if len(msa) > 1 else ""
    control_id = str(msa(2)) if len(msa) > 2 else ""
    try:
        code = AckCode(code_text)
    except ValueError:
        raise AckError(f"MSA-1 {code_text!r} is not an acknowledgement code") from None
    if not control_id:
        raise AckError("MSA-2 (acknowledged control ID) is empty")
    return Ack(code, control_id)
