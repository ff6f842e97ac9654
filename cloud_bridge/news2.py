"""NEWS2 (National Early Warning Score 2, Royal College of Physicians 2017), pure and table-driven.

Each parameter's table is a list of (upper bound inclusive, points), read top down, so a value
between two printed rows (pulse 90.5) falls into the higher row, as it would on the chart once
rounded up. Parameters that were not measured are listed in ``missing`` and the score is
``partial``: it is a lower bound, never completed with zeros as if those parameters were normal.

Bands: ``high`` at 7 or more; ``medium`` at 5 or 6; ``low_medium`` when one parameter scores 3
and the total is below 5; ``low`` from 1 to 4; ``zero`` at 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from careedge_common import codes

Parameter = Literal[
    "respiration_rate",
    "spo2",
    "air_or_oxygen",
    "systolic_bp",
    "pulse",
    "consciousness",
    "temperature",
]
PARAMETERS: tuple[Parameter, ...] = get_args(Parameter)
CODE_OF: dict[Parameter, str] = {
    "respiration_rate": codes.RESPIRATORY_RATE.code,
    "spo2": codes.SPO2.code,
    "systolic_bp": codes.SYSTOLIC.code,
    "pulse": codes.PULSE.code,
    "temperature": codes.BODY_TEMPERATURE.code,
}
"""Parameters read from observations; air/oxygen and consciousness come from elsewhere."""

Band = Literal["zero", "low", "low_medium", "medium", "high"]
Table = Sequence[tuple[float, int]]
INFINITY = float("inf")

RESPIRATION_RATE: Table = ((8, 3), (11, 1), (20, 0), (24, 2), (INFINITY, 3))
SPO2_SCALE_1: Table = ((91, 3), (93, 2), (95, 1), (INFINITY, 0))
SPO2_SCALE_2_LOW: Table = ((83, 3), (85, 2), (87, 1), (92, 0))
"""Scale 2 up to 92 %, the same on air and on oxygen."""
SPO2_SCALE_2_ON_OXYGEN: Table = ((94, 1), (96, 2), (INFINITY, 3))
"""Scale 2 from 93 % on oxygen (on air, 93 % and above score 0)."""
SYSTOLIC_BP: Table = ((90, 3), (100, 2), (110, 1), (219, 0), (INFINITY, 3))
PULSE: Table = ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2), (INFINITY, 3))
TEMPERATURE: Table = ((35.0, 3), (36.0, 1), (38.0, 0), (39.0, 1), (INFINITY, 2))
OXYGEN_POINTS = 2
NEW_CONFUSION_POINTS = 3
"""Any of new confusion, voice, pain or unresponsive (the C, V, P, U of ACVPU)."""


def lookup(table: Table, value: float) -> int:
    for upper, points in table:
        if value <= upper:
            return points
    raise ValueError(f"{value} is beyond the table")


@dataclass(frozen=True, slots=True)
class News2Input:
    """The latest value of each parameter, or None when it was not measured.

    ``on_oxygen`` True for supplemental oxygen, False on room air. ``alert`` True when the
    resident is alert (A of ACVPU), False for new confusion, voice, pain or unresponsive.
    """

    respiration_rate: float | None = None
    spo2: float | None = None
    on_oxygen: bool | None = None
    systolic_bp: float | None = None
    pulse: float | None = None
    alert: bool | None = None
    temperature: float | None = None
    spo2_scale: Literal[1, 2] = 1
    """2 for residents with hypercapnic respiratory failure, as prescribed by a clinician."""


@dataclass(frozen=True, slots=True)
class News2Score:
    total: int
    points: Mapping[Parameter, int]
    missing: tuple[Parameter, ...]
    band: Band
    spo2_scale: Literal[1, 2]

    @property
    def partial(self) -> bool:
        return bool(self.missing)

    @property
    def colour(self) -> Literal["green", "yellow", "red"]:
        """Status colour: red for a high score, yellow for medium or a single 3, else green."""
        if self.band == "high":
            return "red"
        if self.band in ("medium", "low_medium"):
            return "yellow"
        return "green"


def spo2_points(spo2: float, scale: Literal[1, 2], on_oxygen: bool | None) -> int | None:
    """Points for SpO2; None on scale 2 above 92 % when air or oxygen is unknown (the row depends
    on it, so the parameter cannot be scored)."""
    if scale == 1:
        return lookup(SPO2_SCALE_1, spo2)
    if spo2 <= SPO2_SCALE_2_LOW[-1][0]:
        return lookup(SPO2_SCALE_2_LOW, spo2)
    if on_oxygen is None:
        return None
    return lookup(SPO2_SCALE_2_ON_OXYGEN, spo2) if on_oxygen else 0


def score(reading: News2Input) -> News2Score:
    points: dict[Parameter, int] = {}
    missing: list[Parameter] = []

    def put(parameter: Parameter, value: int | None) -> None:
        if value is None:
            missing.append(parameter)
        else:
            points[parameter] = value

    put("respiration_rate", _maybe(RESPIRATION_RATE, reading.respiration_rate))
    put(
        "spo2",
        None if reading.spo2 is None else spo2_points(reading.spo2, reading.spo2_scale, reading.on_oxygen),
    )
    put("air_or_oxygen", None if reading.on_oxygen is None else OXYGEN_POINTS * reading.on_oxygen)
    put("systolic_bp", _maybe(SYSTOLIC_BP, reading.systolic_bp))
    put("pulse", _maybe(PULSE, reading.pulse))
    put("consciousness", None if reading.alert is None else NEW_CONFUSION_POINTS * (not reading.alert))
    put("temperature", _maybe(TEMPERATURE, reading.temperature))
    total = sum(points.values())
    return News2Score(total, points, tuple(missing), band_of(total, points.values()), reading.spo2_scale)


def band_of(total: int, points: Iterable[int]) -> Band:
    single_three = any(value == 3 for value in points)
    if total >= 7:
        return "high"
    if total >= 5:
        return "medium"
    if single_three:
        return "low_medium"
    return "low" if total > 0 else "zero"


def _maybe(table: Table, value: float | None) -> int | None:
    return None if value is None else lookup(table, value)
