"""Threshold bands: strict comparisons, red before yellow, one alert per breaching observation."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cloud_bridge_kit import DIASTOLIC, PULSE, SYSTOLIC, THRESHOLDS, envelope

from careedge_common.config import Threshold
from careedge_common.envelope import Envelope
from cloud_bridge.rules import ThresholdRules, classify

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


def test_alert_document_carries_reading_and_limit() -> None:
    rules = ThresholdRules([Threshold.model_validate(t) for t in THRESHOLDS])
    document = envelope((SYSTOLIC, 185), (DIASTOLIC, 125), (PULSE, 200), historical=True)
    raised_at = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
    alerts = rules.evaluate(Envelope.model_validate(document), raised_at)
    assert [(a.code, a.severity, a.limit) for a in alerts] == [("8480-6", "red", 180), ("8462-4", "red", 120)]
    published = json.loads(alerts[0].to_json())
    assert published["reading_id"] == document["id"]
    assert published["measured_at"] == document["measured_at"]
    assert published["raised_at"] == "2026-01-02T03:04:05.678Z"
    assert published["historical"] is True
    assert published["name"] == "Systolic blood pressure"
    assert (published["value"], published["unit"], published["direction"]) == (185.0, "mm[Hg]", "above")
