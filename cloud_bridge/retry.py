"""The one retry policy of the bridge: capped exponential backoff, retried until stopped.

A failing sink or store is retried forever rather than dropping readings; meanwhile MQTT flow
control holds further messages at the broker.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    first_s: float
    factor: float
    max_s: float

    def delays(self) -> Iterator[float]:
        """``first_s``, then growing by ``factor`` up to ``max_s``, without end."""
        delay = self.first_s
        while True:
            yield delay
            delay = min(delay * self.factor, self.max_s)


STORAGE_RETRY = Backoff(first_s=0.1, factor=2.0, max_s=5.0)
"""A recovered sink is noticed within 5 s; a dead one costs one attempt per 5 s."""
