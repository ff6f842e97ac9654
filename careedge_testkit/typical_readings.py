"""Readings as a care home's kiosks produce them, for benchmarks: which observations come together
and in which ranges their values fall."""

from __future__ import annotations

import random

from careedge_common import codes

# Typical kiosk readings: blood pressure with pulse (3), oximetry (2), temperature or weight (1).
READING_KINDS: tuple[tuple[codes.ObservationKind, ...], ...] = (
    (codes.SYSTOLIC, codes.DIASTOLIC, codes.PULSE),
    (codes.SPO2, codes.PULSE),
    (codes.BODY_TEMPERATURE,),
    (codes.BODY_WEIGHT,),
    (codes.GLUCOSE,),
)
TYPICAL_VALUES = {
    codes.SYSTOLIC.code: (100, 170),
    codes.DIASTOLIC.code: (60, 100),
    codes.PULSE.code: (50, 110),
    codes.SPO2.code: (88, 100),
    codes.BODY_TEMPERATURE.code: (35.5, 38.5),
    codes.BODY_WEIGHT.code: (40.0, 110.0),
    codes.GLUCOSE.code: (3.5, 12.0),
}


def typical_reading(rng: random.Random) -> list[tuple[codes.ObservationKind, float]]:
    """One reading's observations, each with a value in its typical range at the kind's resolution."""
    return [
        (kind, round(rng.uniform(*TYPICAL_VALUES[kind.code]), kind.decimals))
        for kind in rng.choice(READING_KINDS)
    ]
