"""The Date Time format, GATT Specification Supplement §3.70: year 1582..9999, month 1..12, day
1..31, and 0 for "not known" in each of the three -- a valid value, not an error."""

from __future__ import annotations

from datetime import datetime

import pytest

from drivers.ble.datetime_field import DateTime, read_date_time, write_date_time
from drivers.ble.errors import BleDecodeError, Reason
from drivers.ble.wire import Reader, Writer


def _read(hex_text: str) -> DateTime:
    return read_date_time(Reader(bytes.fromhex(hex_text)), "timestamp")


def _write(value: DateTime) -> bytes:
    writer = Writer()
    write_date_time(writer, value, "timestamp")
    return bytes(writer)


def test_a_complete_date_time_is_device_wall_clock_time() -> None:
    value = _read("E8 07 03 15 09 1B 32")  # 2024-03-21 09:27:50

    assert value == DateTime(2024, 3, 21, 9, 27, 50)
    assert value.naive == datetime(2024, 3, 21, 9, 27, 50)
    assert value.naive is not None
    assert value.naive.tzinfo is None


@pytest.mark.parametrize(
    ("hex_text", "expected"),
    [
        ("00 00 03 15 09 1B 32", DateTime(None, 3, 21, 9, 27, 50)),  # year 0: not known
        ("E8 07 00 15 09 1B 32", DateTime(2024, None, 21, 9, 27, 50)),  # month 0
        ("E8 07 03 00 09 1B 32", DateTime(2024, 3, None, 9, 27, 50)),  # day 0
        ("00 00 00 00 00 00 00", DateTime(None, None, None, 0, 0, 0)),  # a clock never set
        ("00 00 02 1D 00 00 00", DateTime(None, 2, 29, 0, 0, 0)),  # 29 February of an unknown year
    ],
)
def test_unknown_parts_are_none_and_leave_no_device_time(hex_text: str, expected: DateTime) -> None:
    value = _read(hex_text)

    assert value == expected
    assert value.naive is None
    assert _write(value) == bytes.fromhex(hex_text)


@pytest.mark.parametrize(
    ("hex_text", "message"),
    [
        (
            "2D 06 01 01 00 00 00",
            "invalid: byte 0 (timestamp.year): 1582..9999, or 0 for unknown, found 1581",
        ),
        (
            "10 27 01 01 00 00 00",
            "invalid: byte 0 (timestamp.year): 1582..9999, or 0 for unknown, found 10000",
        ),
        ("E8 07 0D 01 00 00 00", "invalid: byte 2 (timestamp.month): 1..12, or 0 for unknown, found 13"),
        ("E8 07 04 1F 00 00 00", "invalid: byte 3 (timestamp.day): 1..30, or 0 for unknown, found 31"),
        ("E7 07 02 1D 00 00 00", "invalid: byte 3 (timestamp.day): 1..28, or 0 for unknown, found 29"),
        ("00 00 02 1E 00 00 00", "invalid: byte 3 (timestamp.day): 1..29, or 0 for unknown, found 30"),
        ("E8 07 00 20 00 00 00", "invalid: byte 3 (timestamp.day): 1..31, or 0 for unknown, found 32"),
        ("E8 07 03 15 18 00 00", "invalid: byte 4 (timestamp.hours): 0..23, found 24"),
        ("E8 07 03 15 09 3C 00", "invalid: byte 5 (timestamp.minutes): 0..59, found 60"),
        ("E8 07 03 15 09 1B 3C", "invalid: byte 6 (timestamp.seconds): 0..59, found 60"),
        ("E8 07 03 15 09 1B", "short: byte 0 (timestamp): 7 bytes needed, 6 left"),
    ],
)
def test_impossible_dates_are_refused_naming_the_part(hex_text: str, message: str) -> None:
    with pytest.raises(BleDecodeError) as caught:
        _read(hex_text)

    assert str(caught.value) == message
    assert caught.value.reason in (Reason.INVALID, Reason.SHORT)


def test_the_offset_counts_from_the_start_of_the_whole_value() -> None:
    reader = Reader(bytes.fromhex("AA BB E8 07 0D 01 00 00 00"))
    reader.uint16("before")

    with pytest.raises(BleDecodeError, match=r"^invalid: byte 4 \(timestamp.month\)"):
        read_date_time(reader, "timestamp")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (DateTime(0, 3, 21, 9, 27, 50), "timestamp: None for an unknown year, month or day, not 0"),
        (DateTime(2024, 13, 21, 9, 27, 50), "timestamp.month: 1..12"),
        (DateTime(2023, 2, 29, 9, 27, 50), r"timestamp.day: 1..28"),
        (DateTime(2024, 3, 21, -1, 27, 50), "timestamp.hours: 0..23"),
    ],
)
def test_writing_an_impossible_date_time_is_a_value_error(value: DateTime, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _write(value)


def test_of_takes_the_fields_of_a_datetime() -> None:
    moment = datetime(2024, 3, 21, 9, 27, 50, 999_999)

    assert DateTime.of(moment) == DateTime(2024, 3, 21, 9, 27, 50)
    assert _read(_write(DateTime.of(moment)).hex()).naive == moment.replace(microsecond=0)
