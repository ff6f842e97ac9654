"""IEEE 11073-20601 SFLOAT and FLOAT, as the GATT Specification Supplement uses them (data types
medfloat16 and medfloat32): special values are whole raw values with exponent 0, not mantissas."""

from __future__ import annotations

from decimal import Decimal

import pytest
from ble_strategies import medfloat16, medfloat32
from hypothesis import given
from hypothesis import strategies as st

from drivers.ble.ieee11073 import (
    Finite,
    MedFloat,
    Special,
    decode_float,
    decode_sfloat,
    encode_float,
    encode_sfloat,
    float_from_decimal,
    sfloat_from_decimal,
)


@pytest.mark.parametrize(
    ("raw", "special"),
    [
        (0x07FF, Special.NAN),
        (0x0800, Special.NRES),
        (0x07FE, Special.POSITIVE_INFINITY),
        (0x0802, Special.NEGATIVE_INFINITY),
        (0x0801, Special.RESERVED),
    ],
)
def test_sfloat_special_values_are_whole_raw_values(raw: int, special: Special) -> None:
    assert decode_sfloat(raw) is special
    assert encode_sfloat(special) == raw


@pytest.mark.parametrize(
    ("raw", "special"),
    [
        (0x007FFFFF, Special.NAN),
        (0x00800000, Special.NRES),
        (0x007FFFFE, Special.POSITIVE_INFINITY),
        (0x00800002, Special.NEGATIVE_INFINITY),
        (0x00800001, Special.RESERVED),
    ],
)
def test_float_special_values_are_whole_raw_values(raw: int, special: Special) -> None:
    assert decode_float(raw) is special
    assert encode_float(special) == raw


@pytest.mark.parametrize(
    ("raw", "mantissa", "exponent", "value"),
    [
        (0xF800, -2048, -1, "-204.8"),  # mantissa of NRes, but exponent -1: an ordinary number
        (0xF7FF, 2047, -1, "204.7"),  # mantissa of NaN with exponent -1
        (0x17FF, 2047, 1, "20470"),
        (0x0802 | 0x1000, -2046, 1, "-20460"),  # -INF's mantissa with exponent 1
        (0x0078, 120, 0, "120"),
        (0xF0A0, 160, -1, "16.0"),
        (0xB05F, 95, -5, "0.00095"),
        (0x0FFF, -1, 0, "-1"),
        (0x7001, 1, 7, "1E+7"),
        (0x8001, 1, -8, "1E-8"),
        (0x0000, 0, 0, "0"),
    ],
)
def test_sfloat_numbers_are_mantissa_times_ten_to_the_exponent(
    raw: int, mantissa: int, exponent: int, value: str
) -> None:
    decoded = decode_sfloat(raw)

    assert decoded == Finite(mantissa, exponent)
    assert isinstance(decoded, Finite)
    assert decoded.decimal == Decimal(value)
    assert encode_sfloat(decoded) == raw


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (0xFF000172, "37.0"),  # HTS example: 370 x 10^-1
        (0xFF0003DA, "98.6"),
        (0x00800003, "-8388605"),  # next to the specials: a number
        (0x01800000, "-83886080"),  # NRes mantissa with exponent 1: a number
        (0x80000001, "1E-128"),
        (0x7F7FFFFD, "8388605E+127"),
    ],
)
def test_float_numbers(raw: int, value: str) -> None:
    decoded = decode_float(raw)

    assert isinstance(decoded, Finite)
    assert decoded.decimal == Decimal(value)
    assert encode_float(decoded) == raw


def test_every_sfloat_bit_pattern_decodes_and_re_encodes_to_itself() -> None:
    for raw in range(0x10000):
        assert encode_sfloat(decode_sfloat(raw)) == raw


@given(st.integers(0, 0xFFFFFFFF))
def test_every_float_bit_pattern_decodes_and_re_encodes_to_itself(raw: int) -> None:
    assert encode_float(decode_float(raw)) == raw


@given(medfloat16)
def test_sfloat_values_round_trip(value: MedFloat) -> None:
    assert decode_sfloat(encode_sfloat(value)) == value


@given(medfloat32)
def test_float_values_round_trip(value: MedFloat) -> None:
    assert decode_float(encode_float(value)) == value


@given(medfloat16.filter(lambda value: isinstance(value, Finite)))
def test_encoding_a_representable_decimal_gives_it_back(value: Finite) -> None:
    chosen = sfloat_from_decimal(value.decimal)

    assert decode_sfloat(encode_sfloat(chosen)) == chosen
    assert chosen.decimal == value.decimal


@given(medfloat32.filter(lambda value: isinstance(value, Finite)))
def test_encoding_a_representable_decimal_as_float_gives_it_back(value: Finite) -> None:
    chosen = float_from_decimal(value.decimal)

    assert decode_float(encode_float(chosen)) == chosen
    assert chosen.decimal == value.decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", Finite(120, 0)),
        ("36.60", Finite(366, -1)),
        ("20470", Finite(2047, 1)),
        ("0.00095", Finite(95, -5)),
        ("-204.8", Finite(-2048, -1)),
        ("1E+9", Finite(1000, 6)),
        ("-0.0", Finite(0, 0)),
    ],
)
def test_encoding_picks_the_exponent_nearest_zero(value: str, expected: Finite) -> None:
    assert sfloat_from_decimal(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2048", "mantissa"),  # needs 12 bits of magnitude
        ("204.81", "mantissa"),
        ("1E-9", "exponent"),
        ("2046", r"\+INF"),  # 2046 x 10^0 is the bit pattern of +INF
        ("2047", "NaN"),
        ("NaN", "send a Special"),
        ("Infinity", "send a Special"),
    ],
)
def test_values_an_sfloat_cannot_hold_exactly_are_refused(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        sfloat_from_decimal(value)


@pytest.mark.parametrize(
    "value", [Finite(2047, 0), Finite(-2048, 0), Finite(2048, 1), Finite(1, 8), Finite(1, -9)]
)
def test_encoding_refuses_bit_patterns_that_are_not_that_number(value: Finite) -> None:
    with pytest.raises(ValueError, match="SFLOAT"):
        encode_sfloat(value)


def test_finite_number_is_an_int_for_whole_exponents_and_a_float_otherwise() -> None:
    assert Finite(12, 1).number == 120
    assert isinstance(Finite(12, 1).number, int)
    assert Finite(366, -1).number == 36.6
    assert isinstance(Finite(1200, -1).number, float)


def test_raw_values_outside_the_format_are_refused() -> None:
    with pytest.raises(ValueError, match="16 bits"):
        decode_sfloat(0x10000)
    with pytest.raises(ValueError, match="32 bits"):
        decode_float(-1)
