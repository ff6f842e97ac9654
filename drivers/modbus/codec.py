"""Register words <-> engineering values, per a profile's type, scale, word order and byte order.

Pure functions on lists of 16-bit words, so every model's quirks (swapped words, little-endian
bytes, tenths of a degree, IEEE-754 floats) are tested on numbers with no device attached.
"""

from __future__ import annotations

import math
import struct

from drivers.modbus.profile import REGISTER_WIDTH, Order, ValueType

_STRUCT = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f"}
WORD_MASK = 0xFFFF


class CodecError(ValueError):
    """A value cannot be written as the profile's type (out of range, not finite, wrong width)."""


def _swap_bytes(word: int) -> int:
    return ((word & 0xFF) << 8) | (word >> 8)


def _to_wire_order(words: list[int], word_order: Order, byte_order: Order) -> list[int]:
    """Reorder big-endian words as the device lays them out (the same operation undoes itself)."""
    ordered = words[::-1] if word_order == "little" else list(words)
    return [_swap_bytes(word) for word in ordered] if byte_order == "little" else ordered


def decode(
    words: list[int], value_type: ValueType, scale: float, word_order: Order, byte_order: Order
) -> float:
    """The engineering value of ``words`` as read from the device; ``CodecError`` on a wrong width."""
    width = REGISTER_WIDTH[value_type]
    if len(words) != width:
        raise CodecError(f"{width} registers for a {value_type}, got {len(words)}")
    big_endian = _to_wire_order(words, word_order, byte_order)
    raw = struct.unpack(_STRUCT[value_type], b"".join(word.to_bytes(2, "big") for word in big_endian))[0]
    return float(raw) * scale


def encode(
    value: float, value_type: ValueType, scale: float, word_order: Order, byte_order: Order
) -> list[int]:
    """The words to write so the device holds ``value``; integers are rounded to the nearest step."""
    if not math.isfinite(value):
        raise CodecError(f"a finite number, found {value}")
    raw: float | int = value / scale
    if value_type != "float32":
        raw = round(raw)
    try:
        packed = struct.pack(_STRUCT[value_type], raw)
    except struct.error as exc:
        raise CodecError(f"{value} does not fit a {value_type} with scale {scale}") from exc
    big_endian = [int.from_bytes(packed[i : i + 2], "big") for i in range(0, len(packed), 2)]
    return _to_wire_order(big_endian, word_order, byte_order)
