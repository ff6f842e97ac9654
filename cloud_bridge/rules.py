"""Threshold rules: which observations of an envelope raise an alert, and how severe.

Comparisons are strict (a value equal to a limit does not alert) and red takes precedence over
yellow. Limits are in the code's canonical unit; validation has already rejected envelopes that
use another unit for a known code. Rules are pure: storing, de-duplicating and (later) the alert
lifecycle belong to the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from careedge_common.codes import BY_CODE
from careedge_common.config import Threshold
from careedge_common.envelope import Envelope, Observation, new_event_id
from cloud_bridge.alert import Alert, Direction, Severity


@dataclass(frozen=True, slots=True)
class Breach:
    severity: Severity
    limit: float
    direction: Direction


def classify(threshold: Threshold, value: float) -> Breach | None:
    """The most severe band ``value`` lies strictly beyond, or None when it is within all bands."""
    if threshold.red_above is not None and value > threshold.red_above:
        return Breach("red", threshold.red_above, "above")
    if threshold.red_below is not None and value < threshold.red_below:
        return Breach("red", threshold.red_below, "below")
    if threshold.yellow_above is not None and value > threshold.yellow_above:
        return Breach("yellow", threshold.yellow_above, "above")
    if threshold.yellow_below is not None and value < threshold.yellow_below:
        return Breach("yellow", threshold.yellow_below, "below")
    return None


class ThresholdRules:
    def __init__(self, thresholds: Sequence[Threshold]) -> None:
        self._by_code = {threshold.code: threshold for threshold in thresholds}

    def evaluate(self, envelope: Envelope, raised_at: datetime) -> list[Alert]:
        """One alert per observation beyond its code's bands; ``raised_at`` must be UTC-aware."""
        alerts: list[Alert] = []
        for observation in envelope.obs:
            threshold = self._by_code.get(observation.code)
            if threshold is None:
                continue
            breach = classify(threshold, float(observation.value))
            if breach is not None:
                alerts.append(_alert(envelope, observation, breach, raised_at))
        return alerts


def _alert(envelope: Envelope, observation: Observation, breach: Breach, raised_at: datetime) -> Alert:
    return Alert(
        id=new_event_id(),
        site=envelope.site,
        gateway=envelope.gateway,
        device=envelope.device,
        subject=envelope.subject,
        severity=breach.severity,
        code=observation.code,
        name=BY_CODE[observation.code].name,
        value=float(observation.value),
        unit=observation.unit,
        limit=breach.limit,
        direction=breach.direction,
        reading_id=envelope.id,
        measured_at=envelope.measured_at,
        raised_at=raised_at,
        historical=envelope.historical,
    )
