"""Little-endian field readers and writers shared by the characteristic codecs.

``Reader`` turns every way a value can fail into ``BleDecodeError`` with the field's byte offset;
``Writer`` raises ``ValueError`` naming the field when a value does not fit its wire type, since
a value that cannot be encoded is the caller's bug, not a device's.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import TypeVar

from drivers.ble.errors import BleDecodeError, Reason
from drivers.ble.ieee11073 import MedFloat, decode_float, decode_sfloat, encode_float, encode_sfloat

_UINT16 = struct.Struct("<H")
_SINT16 = struct.Struct("<h")
_UINT32 = struct.Struct("<I")

E = TypeVar("E")


class Reader:
    """Reads one characteristic value front to back; ``offset`` is where the next field starts."""

    __slots__ = ("_data", "offset")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.offset = 0

    def _start(self, size: int, field: str) -> int:
        start = self.offset
        left = len(self._data) - start
        if left < size:
            needed = "1 byte" if size == 1 else f"{size} bytes"
            raise BleDecodeError(Reason.SHORT, start, field, f"{needed} needed, {left} left")
        self.offset = start + size
        return start

    def uint8(self, field: str) -> int:
        return self._data[self._start(1, field)]

    def uint16(self, field: str) -> int:
        value: int = _UINT16.unpack_from(self._data, self._start(2, field))[0]
        return value

    def sint16(self, field: str) -> int:
        value: int = _SINT16.unpack_from(self._data, self._start(2, field))[0]
        return value

    def uint24(self, field: str) -> int:
        start = self._start(3, field)
        return int.from_bytes(self._data[start : start + 3], "little")

    def uint32(self, field: str) -> int:
        value: int = _UINT32.unpack_from(self._data, self._start(4, field))[0]
        return value

    def unpack(self, layout: struct.Struct, field: str) -> tuple[int, ...]:
        """Several integer fields at once (e.g. a Date Time), read from the current offset."""
        values: tuple[int, ...] = layout.unpack_from(self._data, self._start(layout.size, field))
        return values

    def sfloat(self, field: str) -> MedFloat:
        return decode_sfloat(self.uint16(field))

    def float32(self, field: str) -> MedFloat:
        return decode_float(self.uint32(field))

    def enum(self, codes: Mapping[int, E], code: int, offset: int, field: str, expected: str) -> E:
        """The member ``code`` stands for; ``invalid`` naming ``expected`` when it is reserved."""
        member = codes.get(code)
        if member is None:
            raise BleDecodeError(Reason.INVALID, offset, field, f"{expected}, found {code}")
        return member

    @property
    def left(self) -> int:
        return len(self._data) - self.offset

    def end(self) -> None:
        """Raises ``long`` when bytes follow the last field."""
        left = len(self._data) - self.offset
        if left:
            extra = "1 byte" if left == 1 else f"{left} bytes"
            raise BleDecodeError(
                Reason.LONG, self.offset, "trailing bytes", f"{extra} after the last field the flags announce"
            )


class Writer:
    """Builds one characteristic value; ``bytes(writer)`` is the result."""

    __slots__ = ("_data",)

    def __init__(self) -> None:
        self._data = bytearray()

    def __bytes__(self) -> bytes:
        return bytes(self._data)

    def _unsigned(self, value: int, size: int, field: str) -> None:
        if not 0 <= value < 1 << (8 * size):
            raise ValueError(f"{field}: 0..{(1 << (8 * size)) - 1}, found {value}")
        self._data += value.to_bytes(size, "little")

    def uint8(self, value: int, field: str) -> None:
        self._unsigned(value, 1, field)

    def uint16(self, value: int, field: str) -> None:
        self._unsigned(value, 2, field)

    def uint24(self, value: int, field: str) -> None:
        self._unsigned(value, 3, field)

    def uint32(self, value: int, field: str) -> None:
        self._unsigned(value, 4, field)

    def sint16(self, value: int, field: str) -> None:
        if not -0x8000 <= value <= 0x7FFF:
            raise ValueError(f"{field}: -32768..32767, found {value}")
        self._data += _SINT16.pack(value)

    def raw(self, data: bytes) -> None:
        """Bytes already encoded (a nested field whose module checked it)."""
        self._data += data

    def sfloat(self, value: MedFloat, field: str) -> None:
        self.uint16(_checked(encode_sfloat, value, field), field)

    def float32(self, value: MedFloat, field: str) -> None:
        self.uint32(_checked(encode_float, value, field), field)


def _checked(encode: Callable[[MedFloat], int], value: MedFloat, field: str) -> int:
    try:
        return encode(value)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from None


def unpack_bits(raw: int, layout: Mapping[str, int]) -> dict[str, bool]:
    """Field name -> whether its bit is set, for a dataclass of named status bits."""
    return {name: bool(raw >> position & 1) for name, position in layout.items()}


def pack_bits(value: object, layout: Mapping[str, int]) -> int:
    """The inverse of ``unpack_bits``: the bits of ``value``'s attributes that are true."""
    raw = 0
    for name, position in layout.items():
        if getattr(value, name):
            raw |= 1 << position
    return raw
