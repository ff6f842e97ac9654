"""From decoded values to canonical observations: units converted with the device value kept, and
no special value, progress value or not-the-resident value ever becomes a number."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from careedge_common.envelope import Observation, RawValue
from drivers.ble import blood_pressure as bp
from drivers.ble import glucose as gl
from drivers.ble import heart_rate as hr
from drivers.ble import plx
from drivers.ble import temperature as tm
from drivers.ble import weight as wt
from drivers.ble.datetime_field import DateTime
from drivers.ble.ieee11073 import Finite, Special

BASE_TIME = DateTime(2024, 3, 21, 7, 30, 0)
NO_STATUS = gl.GlucoseSensorStatus(*([False] * 12))


def _codes(observations: list[Observation]) -> list[str]:
    return [observation.code for observation in observations]


@pytest.mark.parametrize("special", list(Special))
@pytest.mark.parametrize("field", ["systolic", "diastolic", "mean_arterial", "pulse_rate"])
def test_a_special_blood_pressure_value_is_left_out_and_the_others_kept(field: str, special: Special) -> None:
    measurement = bp.BloodPressureMeasurement(
        bp.PressureUnit.MMHG, Finite(120, 0), Finite(80, 0), Finite(93, 0), pulse_rate=Finite(72, 0)
    )
    codes = {"systolic": "8480-6", "diastolic": "8462-4", "mean_arterial": "8478-0", "pulse_rate": "8867-4"}

    observations = bp.blood_pressure_observations(replace(measurement, **{field: special}))

    assert _codes(observations) == [code for name, code in codes.items() if name != field]


def test_intermediate_values_are_never_observations() -> None:
    cuff = bp.IntermediateCuffPressure(bp.PressureUnit.MMHG, Finite(140, 0), pulse_rate=Finite(75, 0))
    temperature = tm.IntermediateTemperature(tm.TemperatureUnit.CELSIUS, Finite(362, -1))

    assert bp.intermediate_cuff_pressure_observations(cuff) == []
    assert tm.intermediate_temperature_observations(temperature) == []


def _glucose(
    value: Finite | Special,
    unit: gl.ConcentrationUnit = gl.ConcentrationUnit.KG_PER_L,
    sample_type: gl.SampleType = gl.SampleType.CAPILLARY_WHOLE_BLOOD,
    location: gl.SampleLocation = gl.SampleLocation.FINGER,
    status: gl.GlucoseSensorStatus | None = None,
) -> gl.GlucoseMeasurement:
    concentration = gl.GlucoseConcentration(value, unit, sample_type, location)
    return gl.GlucoseMeasurement(1, BASE_TIME, None, concentration, status)


@pytest.mark.parametrize(
    ("measurement", "value", "raw"),
    [
        (_glucose(Finite(95, -5)), 5.3, RawValue(value=95, unit="mg/dL")),  # 95 / 18.016 = 5.273
        (_glucose(Finite(126, -5)), 7.0, RawValue(value=126, unit="mg/dL")),  # 6.9937
        (_glucose(Finite(1261, -6)), 7.0, RawValue(value=126.1, unit="mg/dL")),
        (_glucose(Finite(53, -4), gl.ConcentrationUnit.MOL_PER_L), 5.3, None),
        (_glucose(Finite(111, -5), gl.ConcentrationUnit.MOL_PER_L), 1.11, None),
    ],
)
def test_glucose_is_stored_in_mmol_per_litre(
    measurement: gl.GlucoseMeasurement, value: float, raw: object
) -> None:
    (observation,) = gl.glucose_observations(measurement)

    assert (observation.code, observation.value, observation.unit, observation.raw) == (
        "2339-0",
        value,
        "mmol/L",
        raw,
    )


@pytest.mark.parametrize(
    "measurement",
    [
        _glucose(Special.NAN),
        _glucose(Special.NRES),
        _glucose(Finite(95, -5), sample_type=gl.SampleType.CONTROL_SOLUTION),
        _glucose(Finite(95, -5), location=gl.SampleLocation.CONTROL_SOLUTION),
        _glucose(Finite(6, -3), status=replace(NO_STATUS, result_too_high=True)),
        _glucose(Finite(2, -3), status=replace(NO_STATUS, result_too_low=True)),
        gl.GlucoseMeasurement(1, BASE_TIME),
    ],
    ids=["nan", "nres", "control_type", "control_location", "too_high", "too_low", "no_concentration"],
)
def test_glucose_that_is_not_the_residents_is_left_out(measurement: gl.GlucoseMeasurement) -> None:
    assert gl.glucose_observations(measurement) == []


def test_other_glucose_status_bits_do_not_hide_the_value() -> None:
    status = replace(NO_STATUS, battery_low=True, time_fault=True, strip_type_incorrect=True)

    assert _codes(gl.glucose_observations(_glucose(Finite(95, -5), status=status))) == ["2339-0"]


def test_glucose_device_time_adds_the_offset_to_the_base_time() -> None:
    measurement = gl.GlucoseMeasurement(1, BASE_TIME, time_offset_minutes=-90)

    assert measurement.device_time is not None
    assert measurement.device_time.isoformat() == "2024-03-21T06:00:00"
    assert replace(measurement, base_time=replace(BASE_TIME, year=None)).device_time is None


@pytest.mark.parametrize(
    "flag", ["for_demonstration", "for_testing", "measurement_unavailable", "invalid_measurement"]
)
def test_oximetry_flagged_as_not_the_residents_is_left_out(flag: str) -> None:
    status = plx.PlxMeasurementStatus(*([False] * 11))
    spot = plx.PlxSpotCheckMeasurement(
        Finite(97, 0), Finite(72, 0), measurement_status=replace(status, **{flag: True})
    )
    continuous = plx.PlxContinuousMeasurement(
        plx.SpO2PulseRate(Finite(97, 0), Finite(72, 0)), measurement_status=spot.measurement_status
    )

    assert plx.plx_spot_check_observations(spot) == []
    assert plx.plx_continuous_observations(continuous) == []
    assert _codes(plx.plx_spot_check_observations(replace(spot, measurement_status=status))) == [
        "59408-5",
        "8867-4",
    ]


def test_questionable_oximetry_is_kept_with_its_status_for_the_driver() -> None:
    status = replace(plx.PlxMeasurementStatus(*([False] * 11)), questionable_measurement=True)
    spot = plx.PlxSpotCheckMeasurement(Finite(97, 0), Finite(72, 0), measurement_status=status)

    assert _codes(plx.plx_spot_check_observations(spot)) == ["59408-5", "8867-4"]


def test_continuous_oximetry_observes_the_normal_window_only() -> None:
    value = plx.PlxContinuousMeasurement(
        plx.SpO2PulseRate(Finite(98, 0), Special.NAN),
        fast=plx.SpO2PulseRate(Finite(90, 0), Finite(80, 0)),
        slow=plx.SpO2PulseRate(Finite(99, 0), Finite(60, 0)),
    )

    assert [(o.code, o.value) for o in plx.plx_continuous_observations(value)] == [("59408-5", 98)]


@pytest.mark.parametrize(
    ("contact", "codes"),
    [
        (hr.SensorContact.DETECTED, ["8867-4"]),
        (hr.SensorContact.NOT_SUPPORTED, ["8867-4"]),
        (hr.SensorContact.NOT_DETECTED, []),
    ],
)
def test_heart_rate_without_skin_contact_is_left_out(contact: hr.SensorContact, codes: list[str]) -> None:
    assert _codes(hr.heart_rate_observations(hr.HeartRateMeasurement(72, sensor_contact=contact))) == codes


def test_weight_in_pounds_is_converted_and_an_unsuccessful_weighing_left_out() -> None:
    (observation,) = wt.weight_observations(wt.WeightMeasurement(wt.WeightUnits.IMPERIAL, Decimal("200.00")))

    assert (observation.value, observation.unit, observation.raw) == (
        90.7,
        "kg",
        RawValue(value=200, unit="[lb_av]"),
    )
    assert wt.weight_observations(wt.WeightMeasurement(wt.WeightUnits.SI, None)) == []


def test_temperature_in_fahrenheit_is_converted_with_the_raw_value_kept() -> None:
    (observation,) = tm.temperature_observations(
        tm.TemperatureMeasurement(tm.TemperatureUnit.FAHRENHEIT, Finite(1004, -1))
    )

    assert (observation.value, observation.unit, observation.raw) == (
        38.0,
        "Cel",
        RawValue(value=100.4, unit="[degF]"),
    )


@pytest.mark.parametrize(
    "measurement",
    [
        tm.TemperatureMeasurement(tm.TemperatureUnit.FAHRENHEIT, Finite(-1, 127)),
        tm.TemperatureMeasurement(tm.TemperatureUnit.CELSIUS, Finite(8388605, 127)),
        tm.TemperatureMeasurement(tm.TemperatureUnit.CELSIUS, Finite(1, 10)),
    ],
)
def test_a_magnitude_only_a_corrupt_exponent_gives_is_refused(measurement: tm.TemperatureMeasurement) -> None:
    with pytest.raises(ValueError, match=r"^8310-5: .* is beyond any measurement"):
        tm.temperature_observations(measurement)


def test_a_conversion_that_outgrows_the_bound_is_refused() -> None:
    # 2 x 10**8 kPa is within the bound; 1.5 x 10**9 mm[Hg] is not.
    pressure = bp.BloodPressureMeasurement(bp.PressureUnit.KPA, Finite(200, 6), Finite(80, 0), Special.NAN)

    with pytest.raises(ValueError, match=r"^8480-6: 2e\+08 kPa is beyond any measurement"):
        bp.blood_pressure_observations(pressure)
