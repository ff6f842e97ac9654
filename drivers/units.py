"""Conversion of device values to the canonical UCUM unit of each observation kind (DESIGN §3).

Protocol-neutral: HL7, ASTM and BLE drivers all hand in a number and the unit text the device
used. The arithmetic is decimal, so a device's ``98.6`` [degF] becomes exactly ``37.0`` Cel and the
rounding (half up, to the kind's ``decimals``) is the one a nurse would do by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from careedge_common.codes import GLUCOSE, ObservationKind
from careedge_common.envelope import Observation, RawValue

MMHG_PER_KPA = Decimal("7.50062")
KG_PER_POUND = Decimal("0.45359237")
"""The international avoirdupois pound, exact by definition."""
GLUCOSE_MG_PER_DL_PER_MMOL_PER_L = Decimal("18.016")
"""Glucose molar mass 180.16 g/mol: 1 mmol/L is 18.016 mg/dL."""
FAHRENHEIT_OFFSET = Decimal(32)
FAHRENHEIT_DEGREES_PER_CELSIUS = Decimal(9) / Decimal(5)

SPELLINGS: dict[str, str] = {
    "mm[hg]": "mm[Hg]",
    "mmhg": "mm[Hg]",
    "mm hg": "mm[Hg]",
    "kpa": "kPa",
    "/min": "/min",
    "1/min": "/min",
    "bpm": "/min",
    "beats/min": "/min",
    "{beats}/min": "/min",
    "{beat}/min": "/min",
    "breaths/min": "/min",
    "{breaths}/min": "/min",
    "%": "%",
    "cel": "Cel",
    "degc": "Cel",
    "°c": "Cel",
    "[degf]": "[degF]",
    "degf": "[degF]",
    "°f": "[degF]",
    "kg": "kg",
    "[lb_av]": "[lb_av]",
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "mmol/l": "mmol/L",
    "mg/dl": "mg/dL",
}
"""Unit texts seen from devices (compared without case), each mapped to its UCUM code."""

Converter = Callable[[Decimal], Decimal]

CONVERSIONS: dict[tuple[str, str], Converter] = {
    ("kPa", "mm[Hg]"): lambda value: value * MMHG_PER_KPA,
    ("[degF]", "Cel"): lambda value: (value - FAHRENHEIT_OFFSET) / FAHRENHEIT_DEGREES_PER_CELSIUS,
    ("[lb_av]", "kg"): lambda value: value * KG_PER_POUND,
}
"""(device UCUM unit, canonical UCUM unit) -> conversion valid for any quantity of that dimension."""

ANALYTE_CONVERSIONS: dict[tuple[str, str], Converter] = {
    (GLUCOSE.code, "mg/dL"): lambda value: value / GLUCOSE_MG_PER_DL_PER_MMOL_PER_L,
}
"""(observation code, device UCUM unit) -> conversion that depends on the substance's molar mass."""


class UnitError(ValueError):
    """The unit does not express the observation kind (kg for a blood pressure, an unknown text).

    ``unit`` is the text as the device sent it; ``kind`` the observation it was sent for.
    """

    def __init__(self, kind: ObservationKind, unit: str) -> None:
        super().__init__(f"{kind.name} ({kind.code}) in {kind.unit} or a convertible unit, found {unit!r}")
        self.kind = kind
        self.unit = unit


def to_canonical(kind: ObservationKind, value: int | float, unit: str) -> Observation:
    """One observation in ``kind``'s canonical unit.

    A converted value is rounded half up to ``kind.decimals`` (an int when that is 0); a value already
    in the canonical unit is kept exactly as sent. ``raw`` keeps the device's value and unit text
    whenever either differs from what the observation carries, and is None otherwise.
    Raises ``UnitError`` for a unit that cannot express ``kind`` and ``ValueError`` for a value that
    is not finite.
    """
    if not math.isfinite(value):
        raise ValueError(f"{kind.code} value must be a finite number")
    ucum = SPELLINGS.get(unit.strip().lower())
    if ucum is None:
        raise UnitError(kind, unit)
    raw = RawValue(value=value, unit=unit)
    if ucum == kind.unit:
        return Observation(
            code=kind.code,
            name=kind.name,
            value=value,
            unit=kind.unit,
            raw=None if unit == kind.unit else raw,
        )
    converter = ANALYTE_CONVERSIONS.get((kind.code, ucum)) or CONVERSIONS.get((ucum, kind.unit))
    if converter is None:
        raise UnitError(kind, unit)
    converted = _round(converter(Decimal(str(value))), kind.decimals)
    return Observation(code=kind.code, name=kind.name, value=converted, unit=kind.unit, raw=raw)


def _round(value: Decimal, decimals: int) -> int | float:
    rounded = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return int(rounded) if decimals == 0 else float(rounded)
