"""What a screening kiosk measures on elderly residents, in canonical units (careedge_common.codes).

Normal readings follow distributions typical of care-home residents (higher systolic pressure and
wider pulse pressure than younger adults, lower baseline temperature, many diabetics). Abnormal
readings are drawn from named clinical scenarios so that alert rules meet the cases they exist for,
hypertensive crisis included. Every value is rounded to the resolution the kiosk displays.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from careedge_common.codes import (
    BODY_TEMPERATURE,
    BODY_WEIGHT,
    DIASTOLIC,
    GLUCOSE,
    PULSE,
    SPO2,
    SYSTOLIC,
    ObservationKind,
)


class MeasurementKind(StrEnum):
    """One station of the kiosk; each becomes one OBR group in the result message."""

    BLOOD_PRESSURE = "bp"
    SPO2 = "spo2"
    TEMPERATURE = "temperature"
    WEIGHT = "weight"
    GLUCOSE = "glucose"


@dataclass(frozen=True, slots=True)
class Panel:
    code: str
    name: str
    duration_s: int
    """How long the measurement takes at the kiosk; spaces the observation times of one session."""


PANELS: dict[MeasurementKind, Panel] = {
    MeasurementKind.BLOOD_PRESSURE: Panel("85354-9", "Blood pressure panel with all children optional", 45),
    MeasurementKind.SPO2: Panel(SPO2.code, SPO2.name, 30),
    MeasurementKind.TEMPERATURE: Panel(BODY_TEMPERATURE.code, BODY_TEMPERATURE.name, 15),
    MeasurementKind.WEIGHT: Panel(BODY_WEIGHT.code, BODY_WEIGHT.name, 10),
    MeasurementKind.GLUCOSE: Panel(GLUCOSE.code, GLUCOSE.name, 60),
}

Reading = tuple[ObservationKind, float]
"""An observation kind and its value in the kind's canonical unit."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Reference interval and critical limits in the canonical unit (HL7 table 0078 flags)."""

    low: float | None = None
    high: float | None = None
    critical_low: float | None = None
    critical_high: float | None = None


REFERENCE_LIMITS: dict[str, Limits] = {
    SYSTOLIC.code: Limits(low=90, high=140, critical_high=180),
    DIASTOLIC.code: Limits(low=60, high=90, critical_high=120),
    PULSE.code: Limits(low=50, high=100, critical_low=40, critical_high=130),
    SPO2.code: Limits(low=94, critical_low=88),
    BODY_TEMPERATURE.code: Limits(low=35.5, high=37.3, critical_low=35.0, critical_high=39.5),
    GLUCOSE.code: Limits(low=3.9, high=11.1, critical_low=3.0, critical_high=22.2),
}
"""Body weight has none: a single weight is never abnormal, only a trend is."""


def interpretation(kind: ObservationKind, value: float) -> str:
    """OBX-8 flag the kiosk prints beside a value: ``LL``, ``L``, ``H``, ``HH`` or ``N``."""
    limits = REFERENCE_LIMITS.get(kind.code)
    if limits is None:
        return "N"
    if limits.critical_low is not None and value < limits.critical_low:
        return "LL"
    if limits.critical_high is not None and value >= limits.critical_high:
        return "HH"
    if limits.low is not None and value < limits.low:
        return "L"
    if limits.high is not None and value >= limits.high:
        return "H"
    return "N"


def baseline_weight_kg(resident_key: str, sex: str | None) -> float:
    """A resident's usual weight, stable across runs: it depends only on who they are."""
    rng = random.Random(f"weight/{resident_key}")
    if sex == "F":
        return _clipped(rng.gauss(54, 8), 38, 80)
    if sex == "M":
        return _clipped(rng.gauss(63, 9), 45, 95)
    return _clipped(rng.gauss(58, 9), 40, 90)


def draw(kind: MeasurementKind, rng: random.Random, abnormal: bool, baseline_weight: float) -> list[Reading]:
    """One measurement of ``kind``; ``abnormal`` picks a clinical scenario instead of a normal value."""
    if kind is MeasurementKind.WEIGHT:
        return [(BODY_WEIGHT, round(baseline_weight + rng.gauss(0, 0.3), BODY_WEIGHT.decimals))]
    scenarios = ABNORMAL_SCENARIOS[kind] if abnormal else ((NORMAL[kind], 1.0),)
    draw_values = rng.choices([scenario for scenario, _ in scenarios], [weight for _, weight in scenarios])[0]
    return [(obs_kind, round(value, obs_kind.decimals)) for obs_kind, value in draw_values(rng)]


def _clipped(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _normal_pulse(rng: random.Random) -> float:
    return _clipped(rng.gauss(72, 9), 52, 98)


def _normal_blood_pressure(rng: random.Random) -> list[Reading]:
    systolic = _clipped(rng.gauss(134, 13), 100, 158)
    diastolic = min(_clipped(rng.gauss(76, 8), 55, 88), systolic - 30)
    return [(SYSTOLIC, systolic), (DIASTOLIC, diastolic), (PULSE, _normal_pulse(rng))]


def _hypertensive_crisis(rng: random.Random) -> list[Reading]:
    return [
        (SYSTOLIC, rng.uniform(180, 215)),
        (DIASTOLIC, rng.uniform(120, 130)),
        (PULSE, rng.uniform(80, 105)),
    ]


def _stage_2_hypertension(rng: random.Random) -> list[Reading]:
    return [(SYSTOLIC, rng.uniform(160, 179)), (DIASTOLIC, rng.uniform(95, 109)), (PULSE, _normal_pulse(rng))]


def _hypotension(rng: random.Random) -> list[Reading]:
    return [(SYSTOLIC, rng.uniform(76, 89)), (DIASTOLIC, rng.uniform(42, 55)), (PULSE, rng.uniform(88, 110))]


def _bradycardia(rng: random.Random) -> list[Reading]:
    readings = _normal_blood_pressure(rng)
    return [*readings[:2], (PULSE, rng.uniform(34, 48))]


def _tachycardia(rng: random.Random) -> list[Reading]:
    readings = _normal_blood_pressure(rng)
    return [*readings[:2], (PULSE, rng.uniform(115, 140))]


def _normal_spo2(rng: random.Random) -> list[Reading]:
    return [(SPO2, _clipped(rng.gauss(96, 1.3), 94, 99)), (PULSE, _normal_pulse(rng))]


def _hypoxaemia(rng: random.Random) -> list[Reading]:
    return [(SPO2, rng.uniform(82, 90)), (PULSE, rng.uniform(90, 120))]


def _normal_temperature(rng: random.Random) -> list[Reading]:
    return [(BODY_TEMPERATURE, _clipped(rng.gauss(36.4, 0.25), 35.8, 37.2))]


def _fever(rng: random.Random) -> list[Reading]:
    return [(BODY_TEMPERATURE, rng.uniform(38.0, 39.8))]


def _hypothermia(rng: random.Random) -> list[Reading]:
    return [(BODY_TEMPERATURE, rng.uniform(34.6, 35.4))]


def _normal_glucose(rng: random.Random) -> list[Reading]:
    return [(GLUCOSE, _clipped(rng.gauss(6.5, 1.2), 4.2, 10.0))]


def _hypoglycaemia(rng: random.Random) -> list[Reading]:
    return [(GLUCOSE, rng.uniform(2.4, 3.8))]


def _hyperglycaemia(rng: random.Random) -> list[Reading]:
    return [(GLUCOSE, rng.uniform(13.9, 24.0))]


Scenario = Callable[[random.Random], list[Reading]]

NORMAL: dict[MeasurementKind, Scenario] = {
    MeasurementKind.BLOOD_PRESSURE: _normal_blood_pressure,
    MeasurementKind.SPO2: _normal_spo2,
    MeasurementKind.TEMPERATURE: _normal_temperature,
    MeasurementKind.GLUCOSE: _normal_glucose,
}

ABNORMAL_SCENARIOS: dict[MeasurementKind, tuple[tuple[Scenario, float], ...]] = {
    MeasurementKind.BLOOD_PRESSURE: (
        (_hypertensive_crisis, 0.35),
        (_stage_2_hypertension, 0.25),
        (_hypotension, 0.15),
        (_bradycardia, 0.10),
        (_tachycardia, 0.15),
    ),
    MeasurementKind.SPO2: ((_hypoxaemia, 1.0),),
    MeasurementKind.TEMPERATURE: ((_fever, 0.8), (_hypothermia, 0.2)),
    MeasurementKind.GLUCOSE: ((_hypoglycaemia, 0.4), (_hyperglycaemia, 0.6)),
}
"""Weights within a kind; which scenario an abnormal reading follows."""
