"""Trend rules over a resident's recent readings: weight gain and a rising systolic pressure.

Weight: the newest weight minus the lowest one in the ``days`` before it (fluid retention in
heart failure shows as about 2 kg in 3 days). Systolic: the least-squares slope of the readings
in the last ``days``, projected over ``days``, so one high reading does not make a trend. Both
clear once the figure is below its limit by the hysteresis margin. Windows end at the reading
being evaluated, so a replayed reading is judged by the readings around it, not by today's.
"""

from __future__ import annotations

from datetime import timedelta

from careedge_common.codes import BODY_WEIGHT, SYSTOLIC
from careedge_common.config_alerts import SystolicRise, TrendRules, WeightGain
from careedge_common.envelope import Envelope
from careedge_common.epoch import span_us
from cloud_bridge.alert import Finding, Severity, finding_of
from cloud_bridge.history import History, Sample

SECONDS_PER_DAY = 86_400.0


def days_between(earlier_ms: int, later_ms: int) -> float:
    """Rounded as ``timedelta.total_seconds`` rounds, so the figures are those of the stored times."""
    return (later_ms - earlier_ms) / 1000 / SECONDS_PER_DAY


def window(envelope: Envelope, days: float) -> tuple[int, int]:
    """The ``days`` up to the envelope's measurement, in stored milliseconds."""
    return (envelope.measured_at_us - span_us(timedelta(days=days))) // 1000, envelope.measured_at_ms


def slope_per_day(samples: list[Sample]) -> float:
    """Ordinary least squares; needs two samples at different times."""
    origin = samples[0].at_ms
    xs = [days_between(origin, sample.at_ms) for sample in samples]
    ys = [sample.value for sample in samples]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        raise ValueError("the samples share one time")
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


class TrendRule:
    def __init__(self, rules: TrendRules) -> None:
        self._weight = rules.weight_gain
        self._systolic = rules.systolic_rise
        enabled = ((self._weight.enabled, BODY_WEIGHT.code), (self._systolic.enabled, SYSTOLIC.code))
        self.codes = frozenset(code for on, code in enabled if on)
        """The codes whose readings trigger an evaluation (of that code's trend only)."""

    def evaluate(self, envelope: Envelope, history: History, code: str) -> list[Finding]:
        """The trend of ``code`` up to ``envelope``'s measurement, for its resident."""
        if envelope.subject is None:
            return []
        if code == BODY_WEIGHT.code:
            return self._weight_gain(envelope, envelope.subject, history, self._weight)
        return self._systolic_rise(envelope, envelope.subject, history, self._systolic)

    @staticmethod
    def _weight_gain(envelope: Envelope, subject: str, history: History, rule: WeightGain) -> list[Finding]:
        samples = history.samples(subject, BODY_WEIGHT.code, *window(envelope, rule.days))
        if len(samples) < 2:
            return []
        latest = samples[-1]
        lowest = min(samples[:-1], key=lambda sample: sample.value)
        gain = round(latest.value - lowest.value, 3)
        detail = {"gain_kg": gain, "days": rule.days, "from_kg": lowest.value, "to_kg": latest.value}
        if not _decided(gain, rule.kg, rule.hysteresis_kg):
            return []
        severity = rule.severity if gain >= rule.kg else None
        ids = (lowest.reading_id, latest.reading_id)
        title = f"Weight up {gain:g} kg within {rule.days:g} days"
        return [_finding(envelope, subject, "trend:weight_gain", severity, title, ids, detail)]

    @staticmethod
    def _systolic_rise(
        envelope: Envelope, subject: str, history: History, rule: SystolicRise
    ) -> list[Finding]:
        samples = history.samples(subject, SYSTOLIC.code, *window(envelope, rule.days))
        if len(samples) < rule.min_readings:
            return []
        span_days = days_between(samples[0].at_ms, samples[-1].at_ms)
        if span_days < rule.min_span_days or span_days == 0:
            return []
        rise = round(slope_per_day(samples) * rule.days, 1)
        detail = {"rise_mm_hg": rise, "days": rule.days, "readings": len(samples)}
        if not _decided(rise, rule.rise_mm_hg, rule.hysteresis_mm_hg):
            return []
        severity = rule.severity if rise >= rule.rise_mm_hg else None
        ids = tuple(sample.reading_id for sample in samples)
        title = f"Systolic pressure rising {rise:g} mm[Hg] over {rule.days:g} days"
        return [_finding(envelope, subject, "trend:systolic_rise", severity, title, ids, detail)]


def _decided(figure: float, limit: float, margin: float) -> bool:
    """At or past the limit (a breach), or below it by the margin (a clear); between, no finding."""
    return figure >= limit or figure <= limit - margin


def _finding(
    envelope: Envelope,
    subject: str,
    condition: str,
    severity: Severity | None,
    title: str,
    reading_ids: tuple[str, ...],
    detail: dict[str, float | int],
) -> Finding:
    return finding_of(
        envelope, subject, condition, "trend", severity, title, reading_ids, detail=dict(detail)
    )
