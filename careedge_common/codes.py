"""Observation vocabulary shared by every driver and the bridge.

Each observation kind has one LOINC code and one canonical UCUM unit (DESIGN §3). Drivers convert
device units to the canonical unit and keep the device's value in ``raw``; the bridge and the
alert rules only ever see canonical units, so a threshold written in mm[Hg] never meets kPa.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ObservationKind:
    code: str
    name: str
    unit: str
    decimals: int
    """Digits kept after a unit conversion; device resolution is never finer than this."""
    name_zh: str
    """Label for Chinese-first screens (kiosk, dashboard, demo)."""


SYSTOLIC = ObservationKind("8480-6", "Systolic blood pressure", "mm[Hg]", 0, "收缩压")
DIASTOLIC = ObservationKind("8462-4", "Diastolic blood pressure", "mm[Hg]", 0, "舒张压")
MEAN_ARTERIAL = ObservationKind("8478-0", "Mean blood pressure", "mm[Hg]", 0, "平均动脉压")
PULSE = ObservationKind("8867-4", "Heart rate", "/min", 0, "脉率")
SPO2 = ObservationKind(
    "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", 0, "血氧饱和度"
)
BODY_TEMPERATURE = ObservationKind("8310-5", "Body temperature", "Cel", 1, "体温")
BODY_WEIGHT = ObservationKind("29463-7", "Body weight", "kg", 1, "体重")
GLUCOSE = ObservationKind("2339-0", "Glucose [Mass/volume] in Blood", "mmol/L", 1, "血糖")
RESPIRATORY_RATE = ObservationKind("9279-1", "Respiratory rate", "/min", 0, "呼吸频率")

KINDS: tuple[ObservationKind, ...] = (
    SYSTOLIC,
    DIASTOLIC,
    MEAN_ARTERIAL,
    PULSE,
    SPO2,
    BODY_TEMPERATURE,
    BODY_WEIGHT,
    GLUCOSE,
    RESPIRATORY_RATE,
)
BY_CODE: dict[str, ObservationKind] = {kind.code: kind for kind in KINDS}
