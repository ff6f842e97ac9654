"""A simulated device's wall clock: true time in the device's zone, plus what it is wrong by."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def utc_now() -> datetime:
    return datetime.now(UTC)


class DeviceClock:
    """Naive wall-clock time, as a device keeps it: no zone, no daylight-saving flag.

    ``offset`` is how wrong the clock is (``timedelta(hours=5)``: five hours ahead); writing the
    Current Time sets it so that the clock shows the written time from then on.
    """

    def __init__(
        self, zone: ZoneInfo, offset: timedelta = timedelta(0), now: Callable[[], datetime] = utc_now
    ) -> None:
        self.zone = zone
        self.offset = offset
        self._now = now
        self.times_set = 0
        """How often a central set the clock (Current Time writes)."""

    def wall(self) -> datetime:
        """What the device's clock shows now."""
        return self._true_wall() + self.offset

    def set(self, shown: datetime) -> None:
        """A central wrote ``shown`` (naive): the clock shows it from now on."""
        self.offset = shown - self._true_wall()
        self.times_set += 1

    def _true_wall(self) -> datetime:
        return self._now().astimezone(self.zone).replace(tzinfo=None)
