"""Exact integer times since the Unix epoch: how the stores and the time-series sink keep time.

Integer ``timedelta`` arithmetic: float seconds times 1000 lands 1 ms early for some values.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
_ONE_US = timedelta(microseconds=1)


def epoch_ms(moment: datetime) -> int:
    """Whole milliseconds since the Unix epoch (UTC; the sub-millisecond part dropped)."""
    return (moment - _EPOCH) // _ONE_MS


def epoch_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch (UTC), all of a ``datetime``'s precision."""
    return (moment - _EPOCH) // _ONE_US


def span_us(span: timedelta) -> int:
    """A duration in whole microseconds, all of a ``timedelta``'s precision."""
    return span // _ONE_US
