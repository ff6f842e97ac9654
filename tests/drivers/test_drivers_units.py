from __future__ import annotations

import math

import pytest

from careedge_common.codes import (
    BODY_TEMPERATURE,
    BODY_WEIGHT,
    DIASTOLIC,
    GLUCOSE,
    PULSE,
    RESPIRATORY_RATE,
    SPO2,
    SYSTOLIC,
    ObservationKind,
)
from careedge_common.envelope import RawValue
from drivers.units import UnitError, to_canonical


@pytest.mark.parametrize(
    ("kind", "value", "unit", "expected"),
    [
        (SYSTOLIC, 16.0, "kPa", 120),  # 120.00992
        (DIASTOLIC, 10.7, "kPa", 80),  # 80.256634
        (SYSTOLIC, 17.3, "kpa", 130),  # 129.760726
        (BODY_TEMPERATURE, 98.6, "[degF]", 37.0),
        (BODY_TEMPERATURE, 99.1, "degF", 37.3),  # 37.2777...
        (BODY_TEMPERATURE, 104, "°F", 40.0),
        (BODY_WEIGHT, 154.3, "lb", 70.0),  # 69.98930...
        (BODY_WEIGHT, 165.2, "[lb_av]", 74.9),  # 74.93346...
        (BODY_WEIGHT, 200, "lbs", 90.7),  # 90.718474
        (GLUCOSE, 108, "mg/dL", 6.0),  # 5.99467...
        (GLUCOSE, 126, "mg/dl", 7.0),  # 6.99378...
        (GLUCOSE, 180.16, "mg/dL", 10.0),  # one molar mass per litre is 10 mmol/L
    ],
)
def test_converts_to_the_canonical_unit_and_keeps_the_device_value(
    kind: ObservationKind, value: float, unit: str, expected: float
) -> None:
    observation = to_canonical(kind, value, unit)

    assert (observation.code, observation.name, observation.unit) == (kind.code, kind.name, kind.unit)
    assert observation.value == expected
    assert type(observation.value) is type(expected)
    assert observation.raw == RawValue(value=value, unit=unit)


def test_rounds_half_up_as_a_nurse_would() -> None:
    # (99.05 - 32) / 1.8 is exactly 37.25: binary floats and banker's rounding would both give 37.2.
    assert to_canonical(BODY_TEMPERATURE, 99.05, "[degF]").value == 37.3


@pytest.mark.parametrize(
    ("kind", "unit"),
    [
        (SYSTOLIC, "mmHg"),
        (SYSTOLIC, "MMHG"),
        (SYSTOLIC, "mm Hg"),
        (PULSE, "bpm"),
        (PULSE, "beats/min"),
        (PULSE, "{beats}/min"),
        (PULSE, "1/min"),
        (RESPIRATORY_RATE, "breaths/min"),
        (BODY_TEMPERATURE, "degC"),
        (BODY_TEMPERATURE, "°C"),
        (BODY_WEIGHT, "KG"),
        (GLUCOSE, "mmol/l"),
    ],
)
def test_synonym_of_the_canonical_unit_keeps_the_value_and_records_the_spelling(
    kind: ObservationKind, unit: str
) -> None:
    observation = to_canonical(kind, 36.6, unit)

    assert observation.value == 36.6
    assert observation.unit == kind.unit
    assert observation.raw == RawValue(value=36.6, unit=unit)


@pytest.mark.parametrize("kind", [SYSTOLIC, PULSE, SPO2, BODY_TEMPERATURE, BODY_WEIGHT, GLUCOSE])
def test_canonical_unit_as_spelt_in_ucum_needs_no_raw(kind: ObservationKind) -> None:
    observation = to_canonical(kind, 97, kind.unit)

    assert observation.value == 97
    assert type(observation.value) is int
    assert observation.raw is None


@pytest.mark.parametrize(
    ("kind", "unit"),
    [
        (SYSTOLIC, "kg"),
        (BODY_WEIGHT, "mg/dL"),  # mg/dL converts for glucose only: it depends on the molar mass
        (SPO2, "/min"),
        (BODY_WEIGHT, "st"),
        (GLUCOSE, ""),
        (PULSE, "次/分"),
    ],
)
def test_unit_that_cannot_express_the_kind_is_an_error(kind: ObservationKind, unit: str) -> None:
    with pytest.raises(UnitError) as caught:
        to_canonical(kind, 1, unit)

    assert caught.value.kind == kind
    assert caught.value.unit == unit
    assert kind.code in str(caught.value)
    assert repr(unit) in str(caught.value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_value_that_is_not_finite_is_refused(value: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        to_canonical(SYSTOLIC, value, "kPa")
