"""Single-reading rules: yellow and red bands per observation code, glucose bands among them.

Comparisons are strict (a value equal to a limit does not alert) and red takes precedence over
yellow. Limits are in the code's canonical unit; validation has already rejected envelopes that
use another unit for a known code. A resident's own bands replace the site's for that code; blood
glucose falls back to ``alerts.rules.glucose`` (hypo < 3.9, severe < 3.0 mmol/L) when the site
lists no band of its own. A value back inside its green band by the code's hysteresis margin
clears the condition; one that is merely back inside the limits does not. Rules are pure: the
alert lifecycle (de-duplication, resolution, escalation) belongs to ``lifecycle``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from careedge_common.codes import BY_CODE, GLUCOSE
from careedge_common.config_alerts import AlertRules, Category
from careedge_common.config_base import Direction, Threshold
from careedge_common.envelope import Envelope, Observation
from cloud_bridge.alert import Finding, Severity, finding_of


@dataclass(frozen=True, slots=True)
class Breach:
    severity: Severity
    limit: float
    direction: Direction


def classify(threshold: Threshold, value: float) -> Breach | None:
    """The most severe band ``value`` lies strictly beyond, or None when it is within all bands."""
    band, direction = threshold.band(value)
    if band == "green" or direction is None:
        return None
    limits = {
        ("red", "above"): threshold.red_above,
        ("red", "below"): threshold.red_below,
        ("yellow", "above"): threshold.yellow_above,
        ("yellow", "below"): threshold.yellow_below,
    }
    limit = limits[(band, direction)]
    assert limit is not None
    return Breach(band, limit, direction)


def clears(threshold: Threshold, value: float, margin: float) -> bool:
    """Inside the green band with ``margin`` to spare on both sides."""
    low = threshold.yellow_below if threshold.yellow_below is not None else threshold.red_below
    high = threshold.yellow_above if threshold.yellow_above is not None else threshold.red_above
    return (low is None or value >= low + margin) and (high is None or value <= high - margin)


def scope_of(envelope: Envelope) -> str:
    """The resident, or for an unbound reading the reading itself (it may be anybody's)."""
    return envelope.subject if envelope.subject is not None else f"reading/{envelope.id}"


GLUCOSE_WORDS: dict[tuple[Severity, Direction], str] = {
    ("red", "below"): "Severe hypoglycaemia",
    ("yellow", "below"): "Hypoglycaemia",
    ("yellow", "above"): "Hyperglycaemia",
    ("red", "above"): "Severe hyperglycaemia",
}


class ThresholdRules:
    def __init__(self, thresholds: Sequence[Threshold], rules: AlertRules) -> None:
        self._site = {threshold.code: threshold for threshold in thresholds}
        self._site.setdefault(GLUCOSE.code, rules.glucose.as_threshold())
        self._rules = rules

    def bands(self, subject: str | None, code: str) -> Threshold | None:
        """The resident's bands for ``code`` if they have their own, else the site's."""
        for threshold in self._rules.resident(subject).thresholds:
            if threshold.code == code:
                return threshold
        return self._site.get(code)

    def evaluate(self, envelope: Envelope) -> list[Finding]:
        """A breach or a clear per observation with bands; unbound readings are never cleared
        (the next one may be somebody else's). A correction (``supersedes``) also closes what the
        reading raised while it was unbound: it is now judged as the resident's."""
        findings: list[Finding] = []
        for observation in envelope.obs:
            threshold = self.bands(envelope.subject, observation.code)
            if threshold is None:
                continue
            if envelope.supersedes is not None:
                findings.append(_reassigned(envelope, envelope.supersedes, observation))
            value = float(observation.value)
            breach = classify(threshold, value)
            if breach is not None:
                findings.append(_finding(envelope, observation, breach))
            elif envelope.subject is not None and clears(
                threshold, value, self._rules.margin(observation.code)
            ):
                findings.append(_finding(envelope, observation, None))
        return findings


def _reassigned(envelope: Envelope, supersedes: str, observation: Observation) -> Finding:
    title = f"{BY_CODE[observation.code].name} reading assigned to a resident"
    return replace(_finding(envelope, observation, None), scope=f"reading/{supersedes}", title=title)


def _finding(envelope: Envelope, observation: Observation, breach: Breach | None) -> Finding:
    kind = BY_CODE[observation.code]
    category: Category = "glucose" if observation.code == GLUCOSE.code else "threshold"
    value = float(observation.value)
    title = f"{kind.name} {value:g} {kind.unit} back within its band"
    if breach is not None:
        title = f"{kind.name} {value:g} {kind.unit} {breach.direction} {breach.limit:g}"
        if category == "glucose":
            title = f"{GLUCOSE_WORDS[(breach.severity, breach.direction)]}: {title}"
    return finding_of(
        envelope,
        scope_of(envelope),
        f"threshold:{observation.code}",
        category,
        None if breach is None else breach.severity,
        title,
        code=observation.code,
        value=value,
        unit=observation.unit,
        limit=None if breach is None else breach.limit,
        direction=None if breach is None else breach.direction,
    )
