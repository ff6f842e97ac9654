"""Register words <-> values: each model's byte and word order, scale and sign, on known vectors."""

from __future__ import annotations

import math

import pytest

from drivers.modbus.codec import CodecError, decode, encode


@pytest.mark.parametrize(
    ("words", "value_type", "scale", "word_order", "byte_order", "value"),
    [
        ([0xFFFF], "int16", 0.1, "big", "big", -0.1),
        ([0x0037], "int16", 0.1, "big", "big", 5.5),
        ([0xFF9C], "int16", 1.0, "big", "big", -100.0),
        ([0xFFFF], "uint16", 1.0, "big", "big", 65535.0),
        ([0x3700], "uint16", 0.1, "big", "little", 5.5),
        ([0x40A0, 0x0000], "float32", 1.0, "big", "big", 5.0),
        ([0x0000, 0x40A0], "float32", 1.0, "little", "big", 5.0),
        ([0xA040, 0x0000], "float32", 1.0, "big", "little", 5.0),
        ([0x0000, 0xA040], "float32", 1.0, "little", "little", 5.0),
        ([0x0102, 0x0304], "uint32", 1.0, "big", "big", float(0x01020304)),
        ([0x0304, 0x0102], "uint32", 1.0, "little", "big", float(0x01020304)),
        ([0xFFFF, 0xFFFE], "int32", 0.01, "big", "big", -0.02),
        ([0xFFFE, 0xFFFF], "int32", 0.01, "little", "big", -0.02),
    ],
)
def test_known_vectors_decode_and_encode(
    words: list[int], value_type: str, scale: float, word_order: str, byte_order: str, value: float
) -> None:
    assert decode(words, value_type, scale, word_order, byte_order) == pytest.approx(value)  # type: ignore[arg-type]
    assert encode(value, value_type, scale, word_order, byte_order) == words  # type: ignore[arg-type]


def test_integers_round_to_the_nearest_step() -> None:
    assert encode(4.96, "int16", 0.1, "big", "big") == [50]


@pytest.mark.parametrize(
    ("value", "value_type", "scale"),
    [(3276.8, "int16", 0.1), (-1.0, "uint16", 1.0), (2.0**32, "uint32", 1.0), (math.nan, "float32", 1.0)],
)
def test_values_the_type_cannot_hold_are_refused(value: float, value_type: str, scale: float) -> None:
    with pytest.raises(CodecError):
        encode(value, value_type, scale, "big", "big")  # type: ignore[arg-type]


def test_a_wrong_number_of_words_is_refused() -> None:
    with pytest.raises(CodecError, match="2 registers for a float32, got 1"):
        decode([0x40A0], "float32", 1.0, "big", "big")
