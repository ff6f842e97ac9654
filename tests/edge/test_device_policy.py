from __future__ import annotations

import random

from edge.device_policy import BackoffPolicy, DeviceHealth


def test_backoff_grows_caps_and_resets_when_the_port_opens() -> None:
    health = DeviceHealth(BackoffPolicy(initial_s=1, factor=2, max_s=5, jitter=0), rng=random.Random(1))
    delays = [health.next_delay() for _ in range(5)]
    assert delays == [1, 2, 4, 5, 5]
    assert health.down
    health.opened()
    assert not health.down
    assert health.next_delay() == 1


def test_jitter_stays_within_its_fraction() -> None:
    health = DeviceHealth(BackoffPolicy(initial_s=10, factor=1, max_s=10, jitter=0.2), rng=random.Random(2))
    delays = {health.next_delay() for _ in range(200)}
    assert min(delays) >= 8
    assert max(delays) <= 12
    assert len(delays) > 100
