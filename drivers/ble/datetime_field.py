"""The Date Time format (GATT Specification Supplement §3.70), the time stamp of BLE health values.

Seven bytes: year (uint16, 1582..9999), month (1..12), day (1..31), hours (0..23), minutes and
seconds (0..59). Year, month and day may each be 0, meaning "not known" (a meter whose clock was
never set): that is a valid value, kept as ``None``, not an error. A day must exist in its month
(31 April is refused; 29 February only in a leap year, or any February when the year is unknown).

The time is the device's wall clock: no zone and no daylight-saving flag. ``DateTime.naive``
gives it as a naive ``datetime``; the driver, which knows the site's zone, makes it aware.
"""

from __future__ import annotations

import calendar
import struct
from dataclasses import dataclass
from datetime import datetime

from drivers.ble.errors import BleDecodeError, Reason
from drivers.ble.wire import Reader, Writer

DATE_TIME = struct.Struct("<HBBBBB")
DATE_TIME_SIZE = DATE_TIME.size
UNKNOWN = 0
"""Year, month or day not known."""
MIN_YEAR = 1582
MAX_YEAR = 9999
LEAP_YEAR = 2000
"""Stands in for an unknown year when checking a day of the month: any 29 February may be real."""


@dataclass(frozen=True, slots=True)
class DateTime:
    """A device clock reading; ``None`` in year, month or day means the device does not know it."""

    year: int | None
    month: int | None
    day: int | None
    hours: int
    minutes: int
    seconds: int

    @property
    def naive(self) -> datetime | None:
        """Device wall-clock time without a zone; None when year, month or day is unknown."""
        if self.year is None or self.month is None or self.day is None:
            return None
        return datetime(self.year, self.month, self.day, self.hours, self.minutes, self.seconds)

    @classmethod
    def of(cls, moment: datetime) -> DateTime:
        """The fields of a (naive, wall-clock) ``datetime``; sub-seconds are dropped."""
        return cls(moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


def read_date_time(reader: Reader, field: str) -> DateTime:
    """The Date Time at the reader's offset; ``invalid`` names the sub-field (``timestamp.month``)."""
    start = reader.offset
    year, month, day, hours, minutes, seconds = reader.unpack(DATE_TIME, field)
    problem = _problem(year, month, day, hours, minutes, seconds)
    if problem is not None:
        position, part, detail = problem
        raise BleDecodeError(Reason.INVALID, start + position, f"{field}.{part}", detail)
    return DateTime(year or None, month or None, day or None, hours, minutes, seconds)


def write_date_time(writer: Writer, value: DateTime, field: str) -> None:
    """Appends ``value``; raises ``ValueError`` naming the sub-field if it is not a valid Date Time."""
    if UNKNOWN in (value.year, value.month, value.day):
        raise ValueError(f"{field}: None for an unknown year, month or day, not 0")
    year, month, day = value.year or UNKNOWN, value.month or UNKNOWN, value.day or UNKNOWN
    problem = _problem(year, month, day, value.hours, value.minutes, value.seconds)
    if problem is not None:
        raise ValueError(f"{field}.{problem[1]}: {problem[2]}")
    writer.raw(DATE_TIME.pack(year, month, day, value.hours, value.minutes, value.seconds))


def _problem(
    year: int, month: int, day: int, hours: int, minutes: int, seconds: int
) -> tuple[int, str, str] | None:
    """(byte position within the 7 bytes, sub-field, expected and found) of the first bad part."""
    if year != UNKNOWN and not MIN_YEAR <= year <= MAX_YEAR:
        return 0, "year", f"{MIN_YEAR}..{MAX_YEAR}, or 0 for unknown, found {year}"
    if not 0 <= month <= 12:
        return 2, "month", f"1..12, or 0 for unknown, found {month}"
    if day != UNKNOWN:
        days = 31 if month == UNKNOWN else calendar.monthrange(year or LEAP_YEAR, month)[1]
        if not 1 <= day <= days:
            return 3, "day", f"1..{days}, or 0 for unknown, found {day}"
    if not 0 <= hours <= 23:
        return 4, "hours", f"0..23, found {hours}"
    if not 0 <= minutes <= 59:
        return 5, "minutes", f"0..59, found {minutes}"
    if not 0 <= seconds <= 59:
        return 6, "seconds", f"0..59, found {seconds}"
    return None
