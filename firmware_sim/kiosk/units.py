"""The units a kiosk displays and sends, which depend on the market it was configured for.

``metric`` sends the canonical UCUM units of careedge_common.codes. ``mixed`` sends, for about half
of the measurements, the unit a kiosk configured for another market uses (kPa, [degF], [lb_av],
mg/dL), so the edge's conversions are exercised. Each display unit keeps enough digits that
converting the sent value back and rounding to the canonical resolution gives the measured value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from careedge_common.codes import ObservationKind


class UnitsMode(StrEnum):
    METRIC = "metric"
    MIXED = "mixed"


MIXED_ALTERNATIVE_SHARE = 0.5
"""In ``mixed`` mode, the chance that one measurement is sent in the other market's unit."""

KPA_PER_MM_HG = 0.133322387415
POUNDS_PER_KG = 1 / 0.45359237
GLUCOSE_MG_DL_PER_MMOL_L = 18.0156
"""Molar mass of glucose, 180.156 g/mol, over 10 (mmol/L to mg/dL)."""
FAHRENHEIT_PER_CELSIUS = 1.8
FAHRENHEIT_AT_ZERO_CELSIUS = 32.0


@dataclass(frozen=True, slots=True)
class DisplayUnit:
    """A unit the kiosk sends: ``value = canonical * factor + offset``, rounded to ``decimals``."""

    unit: str
    decimals: int
    factor: float = 1.0
    offset: float = 0.0

    def from_canonical(self, canonical: float) -> float:
        return round(canonical * self.factor + self.offset, self.decimals)

    def to_canonical(self, value: float) -> float:
        return (value - self.offset) / self.factor


ALTERNATIVE_UNITS: dict[str, DisplayUnit] = {
    "mm[Hg]": DisplayUnit("kPa", 1, KPA_PER_MM_HG),
    "Cel": DisplayUnit("[degF]", 1, FAHRENHEIT_PER_CELSIUS, FAHRENHEIT_AT_ZERO_CELSIUS),
    "kg": DisplayUnit("[lb_av]", 1, POUNDS_PER_KG),
    "mmol/L": DisplayUnit("mg/dL", 0, GLUCOSE_MG_DL_PER_MMOL_L),
}
"""Keyed by canonical unit; units with no other market form (%, /min) are always canonical."""


def display_unit(kind: ObservationKind, alternative: bool) -> DisplayUnit:
    """The unit ``kind`` is sent in: the other market's form when asked for and one exists."""
    if alternative and kind.unit in ALTERNATIVE_UNITS:
        return ALTERNATIVE_UNITS[kind.unit]
    return DisplayUnit(kind.unit, kind.decimals)


def format_value(value: float, unit: DisplayUnit) -> str:
    """OBX-5 text: fixed decimals, as the kiosk's display shows it."""
    return f"{value:.{unit.decimals}f}"
