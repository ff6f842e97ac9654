"""ASTM E1394 date-times: ``YYYYMMDDHHMMSS``, local time without an offset.

Analyzers keep the wall-clock time of the room they stand in, so a value is read in the site's
zone. Seconds may be left out (some meters keep minutes only); a date without a time is refused,
because midnight would be a made-up measurement time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

_DATETIME = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?")


def parse_datetime(text: str, site_zone: ZoneInfo) -> datetime:
    """The instant ``text`` names, as an aware UTC datetime.

    In the hour a clock is set back the earlier instant is taken; a time skipped when the clock is
    set forward is read with the offset in force before the change. Raises ``ValueError`` saying
    what was expected.
    """
    match = _DATETIME.fullmatch(text)
    if match is None:
        raise ValueError(f"a date-time YYYYMMDDHHMM[SS], found {text!r}")
    year, month, day, hour, minute, second = (int(part) if part else 0 for part in match.groups())
    try:
        local = datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise ValueError(f"a calendar date and time, found {text!r} ({exc})") from None
    return local.replace(tzinfo=site_zone).astimezone(UTC)
