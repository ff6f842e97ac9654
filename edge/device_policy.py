"""The one place that decides how the edge treats a failing device (EdgeX keeps this in one file).

A port that vanishes (kiosk unplugged, USB adapter reset) is retried forever with capped
exponential backoff and jitter, so many gateways rebooting together do not retry in lockstep.
The backoff counts consecutive failed opens: a port that opens again starts over at
``initial_s``, because a kiosk that was unplugged for a minute must not wait half a minute more
once it is back (its own resend timer is a few seconds). A device is reported down after
``down_after`` consecutive failures, not on the first blip.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0
    jitter: float = 0.2
    """Fraction of the delay added or removed at random."""
    down_after: int = 3


DEVICE_RECONNECT = BackoffPolicy()


@dataclass(slots=True)
class DeviceHealth:
    policy: BackoffPolicy = DEVICE_RECONNECT
    failures: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self) -> float:
        """Record one failure and return how long to wait before the next attempt."""
        self.failures += 1
        base = min(self.policy.max_s, self.policy.initial_s * self.policy.factor ** (self.failures - 1))
        return max(0.0, base * (1 + self.rng.uniform(-self.policy.jitter, self.policy.jitter)))

    def opened(self) -> None:
        self.failures = 0

    @property
    def down(self) -> bool:
        return self.failures >= self.policy.down_after
