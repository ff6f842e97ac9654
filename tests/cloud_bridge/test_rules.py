"""Threshold bands: strict comparisons, red before yellow, one finding per breaching observation,
and clears only past the hysteresis margin."""

from __future__ import annotations

import pytest
from cloud_bridge_kit import DIASTOLIC, PULSE, SYSTOLIC, THRESHOLDS, envelope

from careedge_common.codes import KINDS, ObservationKind
from careedge_common.config import Threshold
from careedge_common.config_alerts import AlertRules
from careedge_common.envelope import Envelope
from cloud_bridge.rules import ThresholdRules, classify, clears

BP = Threshold.model_validate(THRESHOLDS[0])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (140, None),
        (140.5, ("yellow", 140, "above")),
        (180, ("yellow", 140, "above")),
        (180.1, ("red", 180, "above")),
        (100, None),
        (99, ("yellow", 100, "below")),
        (90, ("yellow", 100, "below")),
        (89, ("red", 90, "below")),
    ],
)
def test_bands_are_strict_and_red_wins(value: float, expected: tuple[str, float, str] | None) -> None:
    breach = classify(BP, value)
    assert (None if breach is None else (breach.severity, breach.limit, breach.direction)) == expected


def test_findings_carry_reading_and_limit_and_clears_need_the_margin() -> None:
    rules = ThresholdRules([Threshold.model_validate(t) for t in THRESHOLDS], AlertRules())
    document = envelope((SYSTOLIC, 185), (DIASTOLIC, 125), (PULSE, 200), historical=True)
    findings = rules.evaluate(Envelope.model_validate(document))
    assert [(f.code, f.severity, f.limit, f.direction) for f in findings] == [
        ("8480-6", "red", 180, "above"),
        ("8462-4", "red", 120, "above"),
    ]
    first = findings[0]
    assert (first.scope, first.condition, first.category) == ("res-7f3a", "threshold:8480-6", "threshold")
    assert first.reading_ids == (document["id"],)
    assert first.historical is True
    assert first.title == "Systolic blood pressure 185 mm[Hg] above 180"
    within = rules.evaluate(Envelope.model_validate(envelope((SYSTOLIC, 135), (DIASTOLIC, 88))))
    assert [(f.code, f.severity) for f in within] == [("8480-6", None)], "diastolic 88 is within 3 of 90"


@pytest.mark.parametrize(
    ("value", "clear"), [(135, True), (135.1, False), (105, True), (104.9, False), (120, True)]
)
def test_clearing_needs_the_hysteresis_margin_on_both_sides(value: float, clear: bool) -> None:
    assert clears(BP, value, 5.0) is clear


@pytest.mark.parametrize("kind", KINDS, ids=[kind.code for kind in KINDS])
def test_every_observation_kind_takes_yellow_and_red_bands(kind: ObservationKind) -> None:
    bands = Threshold(code=kind.code, yellow_above=10, red_above=20)
    rules = ThresholdRules([bands], AlertRules())
    observation = {"code": kind.code, "name": kind.name, "unit": kind.unit}
    [yellow] = rules.evaluate(Envelope.model_validate(envelope((observation, 15))))
    [red] = rules.evaluate(Envelope.model_validate(envelope((observation, 25))))
    assert (yellow.severity, red.severity, red.code, red.unit) == ("yellow", "red", kind.code, kind.unit)
