"""How fast the publisher may hand readings to the broker: a token bucket.

After an outage a gateway may hold a day of readings; publishing them as fast as the link allows
would hit the bridge with every gateway's backlog at once. The bucket allows ``rate_per_s`` on
average and a burst of one second's worth, so live readings (a few per minute) never wait and a
backlog drains at the configured rate, in publish order, whatever the link could carry.
"""

from __future__ import annotations

import time
from collections.abc import Callable

BURST_S = 1.0
"""The bucket holds this many seconds of the rate."""


class DrainRate:
    def __init__(self, rate_per_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self._rate = rate_per_s
        self._capacity = max(1.0, rate_per_s * BURST_S)
        self._clock = clock
        self._tokens = self._capacity
        self._updated = clock()

    def available(self) -> int:
        """Messages that may be published now."""
        self._refill()
        return int(self._tokens)

    def spend(self, count: int) -> None:
        """``count`` messages were published (never more than ``available`` said)."""
        self._tokens -= count

    def seconds_until_next(self) -> float:
        """How long until one more message may be published; 0 when one may be now."""
        self._refill()
        return max(0.0, (1.0 - self._tokens) / self._rate)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
