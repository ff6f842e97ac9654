"""Hypothesis strategies for every decoded BLE value: each draws a value the codec must be able to
encode and decode back to itself (the round-trip property), covering every flag and optional field."""

from __future__ import annotations

import calendar
from typing import Any

from hypothesis import strategies as st

from drivers.ble import blood_pressure as bp
from drivers.ble import glucose as gl
from drivers.ble import heart_rate as hr
from drivers.ble import plx
from drivers.ble import temperature as tm
from drivers.ble import weight as wt
from drivers.ble.datetime_field import DateTime
from drivers.ble.ieee11073 import SFLOAT, Finite, MedFloat, Special

uint8 = st.integers(0, 0xFF)
uint16 = st.integers(0, 0xFFFF)


def _medfloat(mantissa_bits: int, exponent_bits: int, special_raws: set[int]) -> st.SearchStrategy[MedFloat]:
    low_mantissa, high_mantissa = -(1 << (mantissa_bits - 1)), (1 << (mantissa_bits - 1)) - 1
    mask = (1 << mantissa_bits) - 1
    finite = st.builds(
        Finite,
        st.integers(low_mantissa, high_mantissa),
        st.integers(-(1 << (exponent_bits - 1)), (1 << (exponent_bits - 1)) - 1),
    ).filter(lambda value: not (value.exponent == 0 and value.mantissa & mask in special_raws))
    return st.one_of(st.sampled_from(Special), finite)


medfloat16 = _medfloat(12, 4, set(SFLOAT.specials))
medfloat32 = _medfloat(24, 8, {0x7FFFFF, 0x800000, 0x7FFFFE, 0x800002, 0x800001})


@st.composite
def date_times(draw: st.DrawFn) -> DateTime:
    year = draw(st.none() | st.integers(1582, 9999))
    month = draw(st.none() | st.integers(1, 12))
    days = 31 if month is None else calendar.monthrange(year or 2000, month)[1]
    day = draw(st.none() | st.integers(1, days))
    return DateTime(
        year, month, day, draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
    )


timestamps = st.none() | date_times()
user_ids = st.none() | uint8

bp_status = st.builds(bp.BloodPressureStatus)
blood_pressure = st.builds(
    bp.BloodPressureMeasurement,
    st.sampled_from(bp.PressureUnit),
    medfloat16,
    medfloat16,
    medfloat16,
    timestamps,
    st.none() | medfloat16,
    user_ids,
    st.none() | bp_status,
)
intermediate_cuff_pressure = st.builds(
    bp.IntermediateCuffPressure,
    st.sampled_from(bp.PressureUnit),
    medfloat16,
    timestamps,
    st.none() | medfloat16,
    user_ids,
    st.none() | bp_status,
)
_temperature_types = st.none() | st.sampled_from(tm.TemperatureType)
temperature = st.builds(
    tm.TemperatureMeasurement, st.sampled_from(tm.TemperatureUnit), medfloat32, timestamps, _temperature_types
)
intermediate_temperature = st.builds(
    tm.IntermediateTemperature,
    st.sampled_from(tm.TemperatureUnit),
    medfloat32,
    timestamps,
    _temperature_types,
)
_plx_status = st.none() | st.builds(plx.PlxMeasurementStatus)
_plx_device_status = st.none() | st.builds(plx.PlxDeviceSensorStatus)
_pair = st.builds(plx.SpO2PulseRate, medfloat16, medfloat16)
plx_spot_check = st.builds(
    plx.PlxSpotCheckMeasurement,
    medfloat16,
    medfloat16,
    timestamps,
    _plx_status,
    _plx_device_status,
    st.none() | medfloat16,
    st.booleans(),
)
plx_continuous = st.builds(
    plx.PlxContinuousMeasurement,
    _pair,
    st.none() | _pair,
    st.none() | _pair,
    _plx_status,
    _plx_device_status,
    st.none() | medfloat16,
)
glucose = st.builds(
    gl.GlucoseMeasurement,
    uint16,
    date_times(),
    st.none() | st.integers(-0x8000, 0x7FFF),
    st.none()
    | st.builds(
        gl.GlucoseConcentration,
        medfloat16,
        st.sampled_from(gl.ConcentrationUnit),
        st.sampled_from(gl.SampleType),
        st.sampled_from(gl.SampleLocation),
    ),
    st.none() | st.builds(gl.GlucoseSensorStatus),
    st.booleans(),
)
glucose_context = st.builds(
    gl.GlucoseMeasurementContext,
    uint16,
    st.booleans(),
    st.none() | st.builds(gl.Carbohydrate, st.sampled_from(gl.CarbohydrateId), medfloat16),
    st.none() | st.sampled_from(gl.Meal),
    st.none() | st.builds(gl.TesterHealth, st.sampled_from(gl.Tester), st.sampled_from(gl.Health)),
    st.none() | st.builds(gl.Exercise, uint16, uint8),
    st.none()
    | st.builds(
        gl.Medication, st.sampled_from(gl.MedicationId), medfloat16, st.sampled_from(gl.MedicationUnit)
    ),
    st.none() | medfloat16,
)


@st.composite
def weight(draw: st.DrawFn) -> wt.WeightMeasurement:
    units = draw(st.sampled_from(wt.WeightUnits))
    count = draw(st.none() | st.integers(0, wt.MEASUREMENT_UNSUCCESSFUL - 1))
    bmi_height = None
    if count is not None and draw(st.booleans()):
        bmi_height = wt.BmiHeight(draw(uint16) * wt.BMI_STEP, draw(uint16) * wt.HEIGHT_STEP[units])
    return wt.WeightMeasurement(
        units,
        None if count is None else count * wt.WEIGHT_STEP[units],
        draw(timestamps),
        draw(user_ids),
        bmi_height,
    )


weight_scale_feature = st.builds(
    wt.WeightScaleFeature,
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.none() | st.sampled_from(list(wt.WEIGHT_RESOLUTIONS.values())),
    st.none() | st.sampled_from(list(wt.HEIGHT_RESOLUTIONS.values())),
)


@st.composite
def heart_rate(draw: st.DrawFn) -> hr.HeartRateMeasurement:
    value_format = draw(st.sampled_from(hr.HeartRateFormat))
    limit = 0xFF if value_format is hr.HeartRateFormat.UINT8 else 0xFFFF
    return hr.HeartRateMeasurement(
        draw(st.integers(0, limit)),
        value_format,
        draw(st.sampled_from(hr.SensorContact)),
        draw(st.none() | uint16),
        tuple(draw(st.lists(uint16, max_size=9))),
    )


BY_NAME: dict[str, st.SearchStrategy[Any]] = {
    "blood_pressure": blood_pressure,
    "intermediate_cuff_pressure": intermediate_cuff_pressure,
    "temperature": temperature,
    "intermediate_temperature": intermediate_temperature,
    "plx_spot_check": plx_spot_check,
    "plx_continuous": plx_continuous,
    "glucose": glucose,
    "glucose_context": glucose_context,
    "weight": weight(),
    "weight_scale_feature": weight_scale_feature,
    "heart_rate": heart_rate(),
}
"""Registry name -> values of that characteristic."""
