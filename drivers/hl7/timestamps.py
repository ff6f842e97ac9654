"""HL7 v2 date-times (DTM, and component 1 of the older TS): ``YYYY[MM[DD[HH[MM[SS[.S…]]]]]][±ZZZZ]``.

Written here rather than taken from ``hl7.parse_datetime``, which accepts trailing garbage
("20240101xyz"), odd digit counts ("202401011") and gives ``-0030`` the wrong sign.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

_DTM = re.compile(
    r"(?P<year>\d{4})"
    r"(?:(?P<month>\d{2})(?:(?P<day>\d{2})(?:(?P<hour>\d{2})(?:(?P<minute>\d{2})"
    r"(?:(?P<second>\d{2})(?:\.(?P<fraction>\d{1,6}))?)?)?)?)?)?"
    r"(?P<offset>[+-]\d{4})?"
)
"""HL7 allows four fractional digits; up to six (microseconds) are accepted."""
MAX_OFFSET = timedelta(hours=14)


def parse_dtm(text: str, site_zone: ZoneInfo) -> datetime:
    """The instant ``text`` names, as an aware UTC datetime.

    A value with an offset is exact. A value without one is wall-clock time in ``site_zone`` (what a
    kiosk clock shows); in the hour a clock is set back, the earlier of the two instants is taken,
    and a time the clock skipped when set forward is read with the offset in force before the change.
    Omitted trailing parts count from the start (``20240315`` is midnight).
    Raises ``ValueError`` saying what was expected.
    """
    match = _DTM.fullmatch(text)
    if match is None:
        raise ValueError(f"a date-time YYYYMMDDHHMMSS[.S][+ZZZZ], found {text!r}")
    parts = match.groupdict()
    fraction = parts["fraction"] or ""
    try:
        local = datetime(
            int(parts["year"]),
            int(parts["month"] or 1),
            int(parts["day"] or 1),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int(fraction.ljust(6, "0")),
        )
    except ValueError as exc:
        raise ValueError(f"a calendar date and time, found {text!r} ({exc})") from None
    offset_text = parts["offset"]
    if offset_text is None:
        return local.replace(tzinfo=site_zone).astimezone(UTC)
    sign = -1 if offset_text[0] == "-" else 1
    hours, minutes = int(offset_text[1:3]), int(offset_text[3:5])
    offset = sign * timedelta(hours=hours, minutes=minutes)
    if minutes >= 60 or abs(offset) > MAX_OFFSET:
        raise ValueError(f"a UTC offset between -1400 and +1400, found {text!r}")
    return local.replace(tzinfo=timezone(offset)).astimezone(UTC)
