"""IEEE 11073-20601 SFLOAT (16 bits) and FLOAT (32 bits), the number formats of the BLE health profiles.

A value is ``mantissa * 10**exponent``, both two's complement: SFLOAT has a 4-bit exponent and a
12-bit mantissa, FLOAT an 8-bit exponent and a 24-bit mantissa (exponent in the high bits). Five
*whole raw values* are not numbers (NaN, NRes "not at this resolution", +INF, -INF and one
reserved value); all of them have exponent 0. Any other raw value is an ordinary number, so
``0xF800`` is -2048 * 10**-1 = -204.8 and ``0x17FF`` is 2047 * 10**1, not NaN.

A decoded value is ``Finite | Special``: code that wants a number must first narrow it to
``Finite`` (mypy insists), so a NaN can never slip into arithmetic or into a time series as 2047.
``Finite`` keeps the mantissa and exponent as sent: the value is exact (``decimal``), and
re-encoding gives the same bits.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TypeAlias


class Special(StrEnum):
    NAN = "NaN"
    """Not a number: the device has no value (e.g. a mean pressure it did not compute)."""
    NRES = "NRes"
    """Not at this resolution: the value does not fit the format's precision."""
    POSITIVE_INFINITY = "+INF"
    NEGATIVE_INFINITY = "-INF"
    RESERVED = "reserved"
    """Reserved for future use by IEEE 11073-20601; not a number either."""


@dataclass(frozen=True, slots=True)
class Finite:
    """An ordinary number, exactly as sent: ``mantissa * 10**exponent``.

    Equality is by representation (``Finite(10, -1) != Finite(1, 0)``) because a codec value must
    re-encode to the same bits; compare ``decimal`` to compare quantities.
    """

    mantissa: int
    exponent: int

    @property
    def decimal(self) -> Decimal:
        """The exact value."""
        return Decimal(f"{self.mantissa}E{self.exponent}")

    @property
    def number(self) -> int | float:
        """An int when the exponent is not negative, else the nearest float (what JSON carries)."""
        return int(self.decimal) if self.exponent >= 0 else float(self.decimal)


MedFloat: TypeAlias = Finite | Special
"""An SFLOAT or FLOAT as decoded: narrow to ``Finite`` before using it as a number."""

SFLOAT_NAN = 0x07FF
SFLOAT_NRES = 0x0800
SFLOAT_POSITIVE_INFINITY = 0x07FE
SFLOAT_NEGATIVE_INFINITY = 0x0802
SFLOAT_RESERVED = 0x0801
FLOAT_NAN = 0x007FFFFF
FLOAT_NRES = 0x00800000
FLOAT_POSITIVE_INFINITY = 0x007FFFFE
FLOAT_NEGATIVE_INFINITY = 0x00800002
FLOAT_RESERVED = 0x00800001


@dataclass(frozen=True, slots=True)
class _Format:
    name: str
    exponent_bits: int
    mantissa_bits: int
    specials: dict[int, Special]

    @property
    def min_mantissa(self) -> int:
        return -(1 << (self.mantissa_bits - 1))

    @property
    def max_mantissa(self) -> int:
        return (1 << (self.mantissa_bits - 1)) - 1

    @property
    def min_exponent(self) -> int:
        return -(1 << (self.exponent_bits - 1))

    @property
    def max_exponent(self) -> int:
        return (1 << (self.exponent_bits - 1)) - 1


SFLOAT = _Format(
    "SFLOAT",
    exponent_bits=4,
    mantissa_bits=12,
    specials={
        SFLOAT_NAN: Special.NAN,
        SFLOAT_NRES: Special.NRES,
        SFLOAT_POSITIVE_INFINITY: Special.POSITIVE_INFINITY,
        SFLOAT_NEGATIVE_INFINITY: Special.NEGATIVE_INFINITY,
        SFLOAT_RESERVED: Special.RESERVED,
    },
)
FLOAT = _Format(
    "FLOAT",
    exponent_bits=8,
    mantissa_bits=24,
    specials={
        FLOAT_NAN: Special.NAN,
        FLOAT_NRES: Special.NRES,
        FLOAT_POSITIVE_INFINITY: Special.POSITIVE_INFINITY,
        FLOAT_NEGATIVE_INFINITY: Special.NEGATIVE_INFINITY,
        FLOAT_RESERVED: Special.RESERVED,
    },
)
_SFLOAT_RAW = {special: raw for raw, special in SFLOAT.specials.items()}
_FLOAT_RAW = {special: raw for raw, special in FLOAT.specials.items()}


def decode_sfloat(raw: int) -> MedFloat:
    """The value of a 16-bit SFLOAT given as an unsigned int. Raises ``ValueError`` outside 0..0xFFFF."""
    if not 0 <= raw <= 0xFFFF:
        raise ValueError(f"an SFLOAT is 16 bits (0..0xFFFF), found {raw:#x}")
    special = SFLOAT.specials.get(raw)
    if special is not None:
        return special
    mantissa = raw & 0x0FFF
    if mantissa >= 0x0800:
        mantissa -= 0x1000
    exponent = raw >> 12
    if exponent >= 0x8:
        exponent -= 0x10
    return Finite(mantissa, exponent)


def decode_float(raw: int) -> MedFloat:
    """The value of a 32-bit FLOAT given as an unsigned int. Raises ``ValueError`` outside 32 bits."""
    if not 0 <= raw <= 0xFFFFFFFF:
        raise ValueError(f"a FLOAT is 32 bits (0..0xFFFFFFFF), found {raw:#x}")
    special = FLOAT.specials.get(raw)
    if special is not None:
        return special
    mantissa = raw & 0x00FFFFFF
    if mantissa >= 0x00800000:
        mantissa -= 0x01000000
    exponent = raw >> 24
    if exponent >= 0x80:
        exponent -= 0x100
    return Finite(mantissa, exponent)


def encode_sfloat(value: MedFloat) -> int:
    """The raw 16 bits of ``value``.

    Raises ``ValueError`` when the mantissa or exponent is out of range, or when they spell one of
    the special raw values (e.g. ``Finite(2047, 0)`` is the bit pattern of NaN).
    """
    if isinstance(value, Special):
        return _SFLOAT_RAW[value]
    return _encode(value, SFLOAT)


def encode_float(value: MedFloat) -> int:
    """The raw 32 bits of ``value``; raises ``ValueError`` as ``encode_sfloat`` does."""
    if isinstance(value, Special):
        return _FLOAT_RAW[value]
    return _encode(value, FLOAT)


def sfloat_from_decimal(value: Decimal | int | str) -> Finite:
    """The SFLOAT mantissa and exponent for ``value``: the exponent nearest 0 that holds it exactly
    (120 is 120 x 10**0, 36.60 is 366 x 10**-1, 20470 is 2047 x 10**1).

    ``decode_sfloat(encode_sfloat(sfloat_from_decimal(x))).decimal == x`` for every representable
    ``x``. Raises ``ValueError`` for a value the format cannot hold exactly (too many significant
    digits, out of range, or a bit pattern taken by a special value), and for NaN and infinities
    (send a ``Special`` for those).
    """
    return _from_decimal(value, SFLOAT)


def float_from_decimal(value: Decimal | int | str) -> Finite:
    """As ``sfloat_from_decimal``, for the 32-bit FLOAT."""
    return _from_decimal(value, FLOAT)


def _encode(value: Finite, fmt: _Format) -> int:
    if not fmt.min_mantissa <= value.mantissa <= fmt.max_mantissa:
        raise ValueError(
            f"{fmt.name} mantissa {fmt.min_mantissa}..{fmt.max_mantissa}, found {value.mantissa}"
        )
    if not fmt.min_exponent <= value.exponent <= fmt.max_exponent:
        raise ValueError(
            f"{fmt.name} exponent {fmt.min_exponent}..{fmt.max_exponent}, found {value.exponent}"
        )
    mantissa_mask = (1 << fmt.mantissa_bits) - 1
    exponent_mask = (1 << fmt.exponent_bits) - 1
    raw = ((value.exponent & exponent_mask) << fmt.mantissa_bits) | (value.mantissa & mantissa_mask)
    if raw in fmt.specials:
        raise ValueError(
            f"{fmt.name} mantissa {value.mantissa} with exponent {value.exponent} is the raw value "
            f"of {fmt.specials[raw]}, not a number"
        )
    return raw


def _from_decimal(value: Decimal | int | str, fmt: _Format) -> Finite:
    number = value if isinstance(value, Decimal) else Decimal(value)
    if not number.is_finite():
        raise ValueError(f"{fmt.name} holds finite numbers; send a Special for {number}")
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite Decimals have an int exponent
    mantissa = int("".join(map(str, digits)))
    if mantissa == 0:
        return Finite(0, 0)
    while mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    while exponent > 0 and mantissa * 10 <= fmt.max_mantissa:
        mantissa *= 10
        exponent -= 1
    candidate = Finite(-mantissa if sign else mantissa, exponent)
    try:
        _encode(candidate, fmt)
    except ValueError as exc:
        raise ValueError(f"{number} cannot be held exactly by an {fmt.name}: {exc}") from None
    return candidate
