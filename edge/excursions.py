"""Temperature excursions of cabinet compartments, from polled readings (pure logic).

An excursion starts with the first reading beyond a compartment's limits (the cabinet's own alarm
setpoints: 2 to 8 °C for a fridge) and ends with the first reading back inside them by at least
``hysteresis_c``, so a value dithering on a limit is one excursion, not many. It reports when it
started and ended (the reading times, aware UTC), which way it went, its peak (the warmest reading
of a warm excursion, the coldest of a cold one) and its duration. A reading outside
``PLAUSIBLE_C`` is a broken probe, not a temperature: it neither starts nor ends nor peaks anything.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

Direction = Literal["above", "below"]
PLAUSIBLE_C = (-40.0, 80.0)


@dataclass(frozen=True, slots=True)
class Excursion:
    compartment: str
    direction: Direction
    limit_c: float
    started_at: datetime
    peak_c: float
    peak_at: datetime
    ended_at: datetime | None = None

    @property
    def duration_s(self) -> float | None:
        return None if self.ended_at is None else (self.ended_at - self.started_at).total_seconds()

    def facts(self) -> dict[str, object]:
        return {
            "compartment": self.compartment,
            "direction": self.direction,
            "limit_c": self.limit_c,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "peak_c": self.peak_c,
            "peak_at": self.peak_at.isoformat(),
            "duration_s": self.duration_s,
        }


@dataclass(frozen=True, slots=True)
class Change:
    """What one reading did: ``started`` a new excursion or ``ended`` one (``excursion`` as it is now)."""

    phase: Literal["started", "ended"]
    excursion: Excursion


def plausible(celsius: float) -> bool:
    return PLAUSIBLE_C[0] <= celsius <= PLAUSIBLE_C[1]


class ExcursionTracker:
    """One per cabinet. ``open`` holds the excursions under way, by compartment; seed it with the
    ones a restart left open so they go on instead of starting again."""

    def __init__(
        self, hysteresis_c: float = 0.2, open_excursions: dict[str, Excursion] | None = None
    ) -> None:
        self.hysteresis_c = hysteresis_c
        self.open: dict[str, Excursion] = dict(open_excursions or {})

    def observe(
        self, compartment: str, at: datetime, celsius: float, low_c: float, high_c: float
    ) -> Change | None:
        """One reading of ``compartment`` at ``at`` against its limits; returns a start or an end,
        or None (still inside, still outside: the peak is updated in ``open``)."""
        if not plausible(celsius):
            return None
        current = self.open.get(compartment)
        if current is None:
            direction: Direction | None = (
                "above" if celsius > high_c else "below" if celsius < low_c else None
            )
            if direction is None:
                return None
            limit = high_c if direction == "above" else low_c
            started = Excursion(compartment, direction, limit, at, celsius, at)
            self.open[compartment] = started
            return Change("started", started)
        if self._back_inside(current, celsius):
            ended = replace(current, ended_at=at)
            del self.open[compartment]
            return Change("ended", ended)
        worse = celsius > current.peak_c if current.direction == "above" else celsius < current.peak_c
        if worse:
            self.open[compartment] = replace(current, peak_c=celsius, peak_at=at)
        return None

    def _back_inside(self, excursion: Excursion, celsius: float) -> bool:
        if excursion.direction == "above":
            return celsius <= excursion.limit_c - self.hysteresis_c
        return celsius >= excursion.limit_c + self.hysteresis_c
