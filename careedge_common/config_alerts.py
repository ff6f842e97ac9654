"""Alert rules beyond single thresholds, the alert lifecycle and routes (``alerts.rules`` in a site file).

Kept apart from ``config.py`` so that the rule engine's settings can grow without touching the
models every component shares. Everything here is read by the bridge only; the edge ignores it.
Values are in each code's canonical unit (``careedge_common.codes``), times of day in the site's
time zone, and webhook secrets are files (never inline), like every other secret.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from careedge_common import codes
from careedge_common.codes import BY_CODE
from careedge_common.config_base import Identifier, StrictModel, Subject, Threshold

Colour = Literal["yellow", "red"]
Category = Literal[
    "threshold",
    "glucose",
    "news2",
    "trend",
    "missed_measurement",
    "offline",
    "missed_dose",
    "cabinet_temperature",
    "call",
]
RouteRole = Literal["nurse_station", "family_doctor", "community_grid"]
LocalTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
"""``HH:MM``, 24-hour, in the site's time zone."""
Tag = Identifier
"""A category the site marks residents with (``severe_mental_disorder``); routes can select by it."""

DEFAULT_HYSTERESIS: dict[str, float] = {
    codes.SYSTOLIC.code: 5.0,
    codes.DIASTOLIC.code: 3.0,
    codes.MEAN_ARTERIAL.code: 3.0,
    codes.PULSE.code: 5.0,
    codes.SPO2.code: 1.0,
    codes.BODY_TEMPERATURE.code: 0.3,
    codes.BODY_WEIGHT.code: 0.5,
    codes.GLUCOSE.code: 0.3,
    codes.RESPIRATORY_RATE.code: 2.0,
}
"""How far back inside its green band a value must come before a threshold alert resolves by
itself, so a reading that wobbles around a limit does not raise and resolve alert after alert.
Codes not listed resolve as soon as a value is back within the band."""


def _known_code(value: str) -> str:
    if value not in BY_CODE:
        raise ValueError(f"a LOINC code the product knows ({', '.join(sorted(BY_CODE))})")
    return value


class GlucoseBands(StrictModel):
    """Blood glucose (2339-0, mmol/L) when the site lists no threshold of its own for that code."""

    severe_hypo_below: float = 3.0
    hypo_below: float = 3.9
    hyper_above: float | None = None
    severe_hyper_above: float | None = None

    def as_threshold(self) -> Threshold:
        return Threshold(
            code=codes.GLUCOSE.code,
            red_below=self.severe_hypo_below,
            yellow_below=self.hypo_below,
            yellow_above=self.hyper_above,
            red_above=self.severe_hyper_above,
        )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        limits = [self.severe_hypo_below, self.hypo_below, self.hyper_above, self.severe_hyper_above]
        present = [limit for limit in limits if limit is not None]
        if present != sorted(present) or len(set(present)) != len(present):
            raise ValueError(
                "limits ordered severe_hypo_below < hypo_below < hyper_above < severe_hyper_above"
            )
        return self


class News2Rules(StrictModel):
    """NEWS2 (Royal College of Physicians, 2017) over each resident's latest readings."""

    enabled: bool = True
    window_minutes: float = Field(default=60.0, gt=0, le=7 * 24 * 60)
    """A parameter counts when measured at most this long before the reading being evaluated."""
    clear_at_or_below: int = Field(default=3, ge=0, le=4)
    """An open NEWS2 alert resolves when the total is at most this and no parameter scores 3
    (alerts start at 5, or at a single 3: the gap is the hysteresis)."""


class WeightGain(StrictModel):
    enabled: bool = True
    kg: float = Field(default=2.0, gt=0)
    days: float = Field(default=3.0, gt=0, le=31)
    severity: Colour = "yellow"
    hysteresis_kg: float = Field(default=0.5, ge=0)


class SystolicRise(StrictModel):
    """Least-squares slope of systolic readings over ``days``, times ``days``, at least ``rise``."""

    enabled: bool = True
    days: float = Field(default=7.0, gt=0, le=31)
    rise_mm_hg: float = Field(default=20.0, gt=0)
    min_readings: int = Field(default=4, ge=2)
    min_span_days: float = Field(default=3.0, ge=0)
    """The readings must spread over at least this long, or two close readings would make a trend."""
    severity: Colour = "yellow"
    hysteresis_mm_hg: float = Field(default=5.0, ge=0)


class TrendRules(StrictModel):
    weight_gain: WeightGain = WeightGain()
    systolic_rise: SystolicRise = SystolicRise()


class ExpectedMeasurement(StrictModel):
    """A measurement a resident should have every day by a time (``by``, site time zone)."""

    code: str
    by: LocalTime
    severity: Colour = "yellow"

    _code = field_validator("code")(_known_code)


class OfflineRules(StrictModel):
    enabled: bool = True
    grace_s: float = Field(default=120.0, ge=0)
    """A gateway that says ``offline`` (Last Will or goodbye) is alerted after this long offline,
    so a restart does not page anyone."""
    severity: Colour = "yellow"


class EventRules(StrictModel):
    call_severity: Colour = "red"
    missed_dose_severity: Colour = "yellow"
    cabinet_temperature_severity: Colour = "yellow"


class ResidentRules(StrictModel):
    """Overrides for one resident, by pseudonymous subject. Anything not given follows the site."""

    thresholds: list[Threshold] = []
    """Replace the site's bands for these codes only."""
    hypercapnic_respiratory_failure: bool = False
    """Score SpO2 on NEWS2 scale 2 (target 88-92 %), as prescribed for this resident."""
    supplemental_oxygen: bool | None = None
    """NEWS2 "air or oxygen" when it is known for this resident; unknown is reported as missing."""
    expected: list[ExpectedMeasurement] | None = None
    """Replace the site's daily expected measurements (an empty list: none for this resident)."""
    tags: list[Tag] = []
    floor: str | None = Field(default=None, max_length=32)
    """Where the nurses' dashboard places the resident's tile (e.g. "2F"); unplaced without it."""
    room: str | None = Field(default=None, max_length=32)

    @field_validator("thresholds")
    @classmethod
    def _one_per_code(cls, value: list[Threshold]) -> list[Threshold]:
        seen = [threshold.code for threshold in value]
        if len(set(seen)) != len(seen):
            raise ValueError("one threshold entry per code")
        return value


class Route(StrictModel):
    """Where alerts go besides the MQTT alerts topic: a webhook, signed with HMAC-SHA256."""

    id: Identifier
    role: RouteRole
    url: str = Field(pattern=r"^https?://")
    secret_file: Path
    """Key for the ``X-CareEdge-Signature`` header, the file's bytes exactly (at least 16); the
    receiver holds the same file."""
    colours: list[Colour] = ["yellow", "red"]
    categories: list[Category] | None = None
    """Only these categories (all when not given)."""
    resident_tags: list[Tag] = []
    """Only alerts about residents the site marked with one of these (community grid workers)."""
    escalation_only: bool = False
    """Receives alerts only when another route escalates to it."""
    escalate_to: Identifier | None = None
    """The next route when a red alert sent here is not acknowledged in time."""
    timeout_s: float = Field(default=5.0, gt=0, le=60)


class DeliveryPolicy(StrictModel):
    """Webhook retries: ``first_retry_s`` after the first failure, growing by ``factor``."""

    first_retry_s: float = Field(default=2.0, gt=0)
    factor: float = Field(default=2.0, ge=1)
    max_retry_s: float = Field(default=600.0, gt=0)
    max_attempts: int = Field(default=30, ge=1)


class AlertRules(StrictModel):
    hysteresis: dict[str, float] = {}
    """Per code, in its unit; replaces ``DEFAULT_HYSTERESIS`` for the codes given."""
    glucose: GlucoseBands = GlucoseBands()
    news2: News2Rules = News2Rules()
    trends: TrendRules = TrendRules()
    expected: list[ExpectedMeasurement] = []
    offline: OfflineRules = OfflineRules()
    events: EventRules = EventRules()
    escalation_minutes: float = Field(default=10.0, gt=0)
    """A red alert not acknowledged this long after it was raised goes to the next route."""
    residents: dict[Subject, ResidentRules] = {}
    routes: list[Route] = []
    delivery: DeliveryPolicy = DeliveryPolicy()
    tick_s: float = Field(default=5.0, gt=0, le=300)
    """How often time-based rules (escalation, expected measurements, offline) are checked."""
    readings_retention_days: float = Field(default=90.0, gt=0)
    """Readings kept in the relational store for trends, scores and the API."""

    @field_validator("hysteresis")
    @classmethod
    def _known_codes(cls, value: dict[str, float]) -> dict[str, float]:
        for code, margin in value.items():
            _known_code(code)
            if margin < 0:
                raise ValueError(f"a margin of at least 0 for {code}")
        return value

    @model_validator(mode="after")
    def _routes_link_up(self) -> Self:
        ids = [route.id for route in self.routes]
        if len(set(ids)) != len(ids):
            raise ValueError("unique route ids")
        for route in self.routes:
            if route.escalate_to is not None and route.escalate_to not in ids:
                raise ValueError(f"route {route.id}: escalate_to names no route ({route.escalate_to})")
            if route.escalate_to == route.id:
                raise ValueError(f"route {route.id}: escalates to itself")
        return self

    def margin(self, code: str) -> float:
        return self.hysteresis.get(code, DEFAULT_HYSTERESIS.get(code, 0.0))

    def resident(self, subject: str | None) -> ResidentRules:
        return self.residents.get(subject or "", NO_OVERRIDES)


NO_OVERRIDES = ResidentRules()
