"""Fuzzing: whatever bytes a device (or a radio error) delivers, each decoder returns a value or
raises ``BleDecodeError`` naming an offset inside the value -- never anything else. What decodes
goes through the rest of the pipeline (encode, observations, JSON) without surprises."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careedge_common.envelope import Observation
from drivers.ble.describe import describe
from drivers.ble.errors import BleDecodeError, Reason
from drivers.ble.observations import MAX_MAGNITUDE
from drivers.ble.registry import CHARACTERISTICS, Characteristic

CASES = Path(__file__).parent / "testcases"


def _payload(path: Path) -> bytes:
    return bytes.fromhex(" ".join(line.split("#", 1)[0] for line in path.read_text().splitlines()))


VALID_PAYLOADS = {
    name: [
        _payload(path)
        for path in sorted((CASES / name).glob("*/payload.hex"))
        if (path.parent / "expected.json").exists()
    ]
    for name in CHARACTERISTICS
}


def _decode(characteristic: Characteristic[Any], data: bytes) -> tuple[Any, BleDecodeError | None]:
    try:
        return characteristic.decode(data), None
    except BleDecodeError as error:
        return None, error


def _observe(characteristic: Characteristic[Any], value: Any) -> tuple[list[Observation], ValueError | None]:
    try:
        return characteristic.to_observations(value), None
    except ValueError as error:
        return [], error


def _check(characteristic: Characteristic[Any], data: bytes) -> None:
    value, error = _decode(characteristic, data)
    if error is not None:
        assert isinstance(error.reason, Reason)
        assert 0 <= error.offset <= len(data)
        assert str(error).startswith(f"{error.reason}: byte {error.offset} ({error.field}): ")
        assert "\n" not in str(error)
        return
    assert characteristic.decode(characteristic.encode(value)) == value
    observations, refused = _observe(characteristic, value)
    if refused is not None:
        assert "is beyond any measurement" in str(refused)
        return
    for observation in observations:
        assert math.isfinite(observation.value)
        assert abs(observation.value) <= MAX_MAGNITUDE
    json.dumps(describe(characteristic, value))


@pytest.mark.parametrize("name", sorted(CHARACTERISTICS))
@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=48))
def test_random_bytes_decode_or_raise_the_documented_error(name: str, data: bytes) -> None:
    _check(CHARACTERISTICS[name], data)


@pytest.mark.parametrize("name", sorted(CHARACTERISTICS))
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_mutated_valid_values_decode_or_raise_the_documented_error(name: str, data: st.DataObject) -> None:
    payload = bytearray(data.draw(st.sampled_from(VALID_PAYLOADS[name])))
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(payload)))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip" and position < len(payload):
            payload[position] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "cut":
            del payload[position:]
        else:
            payload.insert(position, data.draw(st.integers(0, 255)))
    _check(CHARACTERISTICS[name], bytes(payload))
