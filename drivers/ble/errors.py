"""The one error type of the BLE codecs: what is wrong, at which byte, in which field.

Decoders raise nothing else, whatever the bytes (the fuzz tests hold them to it), so a driver can
count a bad notification by ``reason`` and carry on. Texts quote only structure and the offending
number, never a user's identity: a BLE health value holds none besides a device-local user index.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    SHORT = "short"
    """The value ends inside a field that its flags announce."""
    LONG = "long"
    """Bytes follow the last field that the flags announce."""
    INVALID = "invalid"
    """A field holds a value its specification does not allow (reserved enumeration, month 13)."""


class BleDecodeError(Exception):
    """A characteristic value that cannot be decoded.

    ``offset`` is the 0-based byte offset of the field (of the first unexpected byte for ``long``),
    ``field`` its path in the decoded dataclass (``timestamp.month``), ``detail`` what was expected
    and found. ``str()`` is one line: ``invalid: byte 9 (timestamp.month): 1..12, or 0 for unknown,
    found 13``.
    """

    def __init__(self, reason: Reason, offset: int, field: str, detail: str) -> None:
        self.reason = reason
        self.offset = offset
        self.field = field
        self.detail = detail
        super().__init__(f"{reason}: byte {offset} ({field}): {detail}")
