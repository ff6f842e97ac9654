"""Canonical units for the kinds this driver adds (lipids, urine strips); the rest go to ``drivers.units``.

The same rules as ``drivers.units.to_canonical``: decimal arithmetic, a converted value rounded
half up to the kind's decimals, a value already canonical kept as sent, and the device's value and
unit text kept in ``raw`` whenever either differs. Two additions for strip readers: pH and specific
gravity are dimensionless, and an empty unit for them means the canonical one.

The factors are molar masses (mg/dL per mmol/L): cholesterol C27H46O 386.65 g/mol, triglyceride
as triolein 885.7 g/mol, glucose 180.16 g/mol, ketones as acetoacetic acid 102.09 g/mol (test strips
react with acetoacetate: 5, 15, 40, 80, 160 mg/dL read 0.5, 1.5, 3.9, 7.8, 16 mmol/L).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from careedge_common.codes import (
    HDL_CHOLESTEROL,
    LDL_CHOLESTEROL_CALCULATED,
    LDL_CHOLESTEROL_DIRECT,
    TOTAL_CHOLESTEROL,
    TRIGLYCERIDES,
    URINE_GLUCOSE,
    URINE_KETONES,
    URINE_PROTEIN,
    ObservationKind,
)
from careedge_common.envelope import Observation, RawValue
from drivers.astm.vocabulary import KINDS_BY_CODE
from drivers.units import GLUCOSE_MG_PER_DL_PER_MMOL_PER_L, UnitError, to_canonical

CHOLESTEROL_MG_PER_DL_PER_MMOL_PER_L = Decimal("38.67")
TRIGLYCERIDE_MG_PER_DL_PER_MMOL_PER_L = Decimal("88.57")
KETONES_MG_PER_DL_PER_MMOL_PER_L = Decimal("10.209")
MG_PER_DL_PER_G_PER_L = Decimal(100)
DIMENSIONLESS_UNITS = frozenset({"1", "[pH]"})

SPELLINGS: dict[str, str] = {
    "mg/dl": "mg/dL",
    "mmol/l": "mmol/L",
    "g/l": "g/L",
    "/ul": "/uL",
    "leu/ul": "/uL",
    "cells/ul": "/uL",
    "wbc/ul": "/uL",
    "[ph]": "[pH]",
    "ph": "[pH]",
    "1": "1",
}
"""Unit texts strip readers and lipid analyzers send (compared without case), as UCUM."""

Converter = Callable[[Decimal], Decimal]


def _per(factor: Decimal) -> Converter:
    return lambda value: value / factor


CONVERSIONS: dict[tuple[str, str], Converter] = {
    (TOTAL_CHOLESTEROL.code, "mg/dL"): _per(CHOLESTEROL_MG_PER_DL_PER_MMOL_PER_L),
    (HDL_CHOLESTEROL.code, "mg/dL"): _per(CHOLESTEROL_MG_PER_DL_PER_MMOL_PER_L),
    (LDL_CHOLESTEROL_CALCULATED.code, "mg/dL"): _per(CHOLESTEROL_MG_PER_DL_PER_MMOL_PER_L),
    (LDL_CHOLESTEROL_DIRECT.code, "mg/dL"): _per(CHOLESTEROL_MG_PER_DL_PER_MMOL_PER_L),
    (TRIGLYCERIDES.code, "mg/dL"): _per(TRIGLYCERIDE_MG_PER_DL_PER_MMOL_PER_L),
    (URINE_GLUCOSE.code, "mg/dL"): _per(GLUCOSE_MG_PER_DL_PER_MMOL_PER_L),
    (URINE_KETONES.code, "mg/dL"): _per(KETONES_MG_PER_DL_PER_MMOL_PER_L),
    (URINE_PROTEIN.code, "mg/dL"): _per(MG_PER_DL_PER_G_PER_L),
}
"""(observation code, device UCUM unit) -> conversion to the kind's canonical unit."""


def to_observation(kind: ObservationKind, value: int | float, unit: str) -> Observation:
    """One observation in ``kind``'s canonical unit.

    Raises ``UnitError`` for a unit that cannot express ``kind`` and ``ValueError`` for a value that
    is not finite.
    """
    if kind.code not in KINDS_BY_CODE:
        return to_canonical(kind, value, unit)
    if not math.isfinite(value):
        raise ValueError(f"{kind.code} value must be a finite number")
    text = unit.strip()
    ucum = kind.unit if not text and kind.unit in DIMENSIONLESS_UNITS else SPELLINGS.get(text.lower())
    if ucum == kind.unit:
        raw = None if unit in ("", kind.unit) else RawValue(value=value, unit=unit)
        return Observation(code=kind.code, name=kind.name, value=value, unit=kind.unit, raw=raw)
    converter = CONVERSIONS.get((kind.code, ucum or ""))
    if converter is None:
        raise UnitError(kind, unit)
    converted = _round(converter(Decimal(str(value))), kind.decimals)
    return Observation(
        code=kind.code, name=kind.name, value=converted, unit=kind.unit, raw=RawValue(value=value, unit=unit)
    )


def _round(value: Decimal, decimals: int) -> int | float:
    rounded = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return int(rounded) if decimals == 0 else float(rounded)
