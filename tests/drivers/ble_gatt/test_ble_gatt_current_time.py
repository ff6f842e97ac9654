"""The Current Time codec, on bytes (CTS v1.1, GSS Exact Time 256)."""

from __future__ import annotations

from datetime import datetime

import pytest

from drivers.ble.datetime_field import DateTime
from drivers.ble.errors import BleDecodeError
from drivers.ble_gatt.current_time import (
    ADJUST_EXTERNAL_REFERENCE,
    CurrentTime,
    current_time_of,
    decode_current_time,
    encode_current_time,
)

FRIDAY_HALF_PAST_NINE = "E9 07 03 0E 09 1E 0C 05 80 02"
"""2025-03-14 09:30:12.5, Friday (5), 128/256 s, external reference time update."""


def test_gateway_time_on_the_wire() -> None:
    value = current_time_of(datetime(2025, 3, 14, 9, 30, 12, 500_000))

    assert encode_current_time(value) == bytes.fromhex(FRIDAY_HALF_PAST_NINE)
    assert value.adjust_reason == ADJUST_EXTERNAL_REFERENCE


def test_device_time_read_back() -> None:
    value = decode_current_time(bytes.fromhex(FRIDAY_HALF_PAST_NINE))

    assert value.wall_clock == datetime(2025, 3, 14, 9, 30, 12, 500_000)
    assert value.day_of_week == 5


def test_reserved_adjust_bits_are_ignored() -> None:
    assert decode_current_time(bytes.fromhex("E9 07 03 0E 09 1E 0C 05 00 F2")).adjust_reason == 0x02


def test_clock_never_set_has_no_wall_clock_time() -> None:
    value = decode_current_time(bytes.fromhex("00 00 00 00 00 00 00 00 00 00"))

    assert value.wall_clock is None
    assert value.date_time == DateTime(None, None, None, 0, 0, 0)


@pytest.mark.parametrize(
    ("wire", "reason", "offset", "field"),
    [
        ("E9 07 0D 0E 09 1E 0C 05 80 02", "invalid", 2, "date_time.month"),
        ("E9 07 03 0E 09 1E 0C 08 80 02", "invalid", 7, "day_of_week"),
        ("E9 07 03 0E 09 1E 0C 05 80", "short", 9, "adjust_reason"),
        ("E9 07 03 0E 09 1E 0C 05 80 02 00", "long", 10, "trailing bytes"),
    ],
)
def test_values_a_device_must_not_send_name_the_byte(wire: str, reason: str, offset: int, field: str) -> None:
    with pytest.raises(BleDecodeError) as caught:
        decode_current_time(bytes.fromhex(wire))
    assert (caught.value.reason, caught.value.offset, caught.value.field) == (reason, offset, field)


def test_impossible_day_of_week_is_not_sent() -> None:
    with pytest.raises(ValueError, match="day_of_week"):
        encode_current_time(CurrentTime(DateTime(2025, 3, 14, 9, 30, 12), 9, 0, 0))
