"""Property: every value a characteristic can hold survives encode -> decode unchanged, and its
bytes survive decode -> encode (so no flag, optional field, unit or status bit is lost or invented)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from ble_strategies import BY_NAME
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ble import blood_pressure as bp
from drivers.ble import glucose as gl
from drivers.ble import heart_rate as hr
from drivers.ble import weight as wt
from drivers.ble.datetime_field import DateTime
from drivers.ble.ieee11073 import Finite, Special
from drivers.ble.registry import CHARACTERISTICS


def test_every_characteristic_has_a_strategy() -> None:
    assert set(BY_NAME) == set(CHARACTERISTICS)


@pytest.mark.parametrize("name", sorted(CHARACTERISTICS))
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_encode_then_decode_gives_the_value_back(name: str, data: st.DataObject) -> None:
    characteristic = CHARACTERISTICS[name]
    value: Any = data.draw(BY_NAME[name])

    encoded = characteristic.encode(value)
    decoded = characteristic.decode(encoded)

    assert decoded == value
    assert type(decoded) is characteristic.value_type
    assert characteristic.encode(decoded) == encoded


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("heart_rate", hr.HeartRateMeasurement(300), r"^heart_rate: 0\.\.255, found 300$"),
        (
            "heart_rate",
            hr.HeartRateMeasurement(72, rr_intervals=(1024, 70000)),
            r"^rr_intervals\[1\]: 0\.\.65535",
        ),
        (
            "blood_pressure",
            bp.BloodPressureMeasurement(bp.PressureUnit.MMHG, Finite(4000, 0), Finite(80, 0), Special.NAN),
            r"^systolic: SFLOAT mantissa -2048\.\.2047, found 4000$",
        ),
        (
            "blood_pressure",
            bp.BloodPressureMeasurement(bp.PressureUnit.MMHG, Finite(120, 0), Finite(80, 0), Finite(2047, 0)),
            r"^mean_arterial: SFLOAT mantissa 2047 with exponent 0 is the raw value of NaN",
        ),
        (
            "weight",
            wt.WeightMeasurement(wt.WeightUnits.SI, Decimal("70.001")),
            r"^weight: a multiple of 0\.005, found 70\.001$",
        ),
        (
            "weight",
            wt.WeightMeasurement(
                wt.WeightUnits.SI, Decimal("327.675")
            ),  # 65535 steps: the "unsuccessful" code
            r"^weight: at most 327\.670$",
        ),
        (
            "weight",
            wt.WeightMeasurement(
                wt.WeightUnits.SI, None, bmi_height=wt.BmiHeight(Decimal("22.9"), Decimal("1.75"))
            ),
            r"^bmi_height: not sent with an unsuccessful measurement",
        ),
        (
            "weight_scale_feature",
            wt.WeightScaleFeature(False, False, False, wt.Resolution(Decimal("0.3"), Decimal("0.6")), None),
            r"^weight_resolution: one of the resolutions",
        ),
        (
            "glucose",
            gl.GlucoseMeasurement(70000, DateTime(2024, 3, 21, 7, 30, 0)),
            r"^sequence_number: 0\.\.65535",
        ),
    ],
)
def test_encode_refuses_a_value_that_cannot_be_sent(name: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CHARACTERISTICS[name].encode(value)
