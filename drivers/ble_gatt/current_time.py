"""Current Time (0x2A2B) of the Current Time Service (0x1805): read a device's clock and set it.

GATT Specification Supplement, Current Time, Exact Time 256, Day Date Time and Adjust Reason;
Current Time Service (CTS) v1.1. Ten bytes, little-endian:

- Date Time (7: year, month, day, hours, minutes, seconds; ``drivers.ble.datetime_field``);
- day of week (1: 1 Monday .. 7 Sunday, 0 unknown; 8..255 reserved, refused);
- fractions256 (1: 1/256 s);
- adjust reason (1): bit 0 manual time update, 1 external reference time update, 2 change of time
  zone, 3 change of daylight-saving time; other bits reserved (ignored on receipt, sent as 0).

The value is the device's wall clock, without a zone: the gateway writes the site's local time
(``site.timezone``), the zone in which it reads the device's time stamps back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from drivers.ble.datetime_field import DateTime, read_date_time, write_date_time
from drivers.ble.errors import BleDecodeError, Reason
from drivers.ble.wire import Reader, Writer

CURRENT_TIME_SERVICE_UUID16 = 0x1805
CURRENT_TIME_UUID16 = 0x2A2B
DAY_OF_WEEK_UNKNOWN = 0
FRACTIONS_PER_SECOND = 256
ADJUST_MANUAL = 0x01
ADJUST_EXTERNAL_REFERENCE = 0x02
"""What the gateway sends: the time comes from the gateway's synchronised clock."""
ADJUST_TIME_ZONE = 0x04
ADJUST_DST = 0x08
_ADJUST_BITS = ADJUST_MANUAL | ADJUST_EXTERNAL_REFERENCE | ADJUST_TIME_ZONE | ADJUST_DST
SUNDAY = 7
_DAY_OF_WEEK_OFFSET = 7
"""``Date Time`` stands at bytes 0..6, so the day of week is byte 7."""


@dataclass(frozen=True, slots=True)
class CurrentTime:
    date_time: DateTime
    day_of_week: int
    """1 Monday .. 7 Sunday; 0 when the device does not know."""
    fractions256: int
    adjust_reason: int
    """Bit field (``ADJUST_*``); reserved bits cleared."""

    @property
    def wall_clock(self) -> datetime | None:
        """Device wall-clock time, naive, to the 1/256 s; None when year, month or day is unknown."""
        naive = self.date_time.naive
        if naive is None:
            return None
        return naive.replace(microsecond=self.fractions256 * 1_000_000 // FRACTIONS_PER_SECOND)


def current_time_of(moment: datetime, adjust_reason: int = ADJUST_EXTERNAL_REFERENCE) -> CurrentTime:
    """The value that sets a device to ``moment`` (naive wall-clock time in the site's zone)."""
    return CurrentTime(
        DateTime.of(moment),
        moment.isoweekday(),
        moment.microsecond * FRACTIONS_PER_SECOND // 1_000_000,
        adjust_reason,
    )


def encode_current_time(value: CurrentTime) -> bytes:
    """Raises ``ValueError`` naming the field that does not fit."""
    if not DAY_OF_WEEK_UNKNOWN <= value.day_of_week <= SUNDAY:
        raise ValueError(f"day_of_week: 0..7, found {value.day_of_week}")
    writer = Writer()
    write_date_time(writer, value.date_time, "date_time")
    writer.uint8(value.day_of_week, "day_of_week")
    writer.uint8(value.fractions256, "fractions256")
    writer.uint8(value.adjust_reason & _ADJUST_BITS, "adjust_reason")
    return bytes(writer)


def decode_current_time(data: bytes) -> CurrentTime:
    """Raises ``BleDecodeError`` for a value that is short, long or holds an impossible date or day."""
    reader = Reader(data)
    date_time = read_date_time(reader, "date_time")
    day_of_week = reader.uint8("day_of_week")
    if day_of_week > SUNDAY:
        raise BleDecodeError(
            Reason.INVALID, _DAY_OF_WEEK_OFFSET, "day_of_week", f"1..7, or 0 for unknown, found {day_of_week}"
        )
    fractions = reader.uint8("fractions256")
    adjust_reason = reader.uint8("adjust_reason") & _ADJUST_BITS
    reader.end()
    return CurrentTime(date_time, day_of_week, fractions, adjust_reason)
