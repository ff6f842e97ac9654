"""BLE codec speed: decodes per second for each supported characteristic.

Runs alone: ``.venv/bin/python bench/ble_decode.py [--repeats 7] [--min-time 0.2]``. For each
characteristic it times ``decode`` on two values -- *minimal* (flags 0: only the mandatory fields)
and *full* (every optional field present) -- and ``decode`` followed by ``to_observations`` on the
full value, which is the work the BLE driver does per notification. Each figure is the median
over the repeats of one ``timeit`` run of at least ``--min-time`` seconds; all runs are in this
one process, one core. The values are built with the codecs' own ``encode``, so each payload is
checked to decode back to the value it came from before it is timed.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import timeit
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

from drivers.ble import blood_pressure as bp
from drivers.ble import glucose as gl
from drivers.ble import heart_rate as hr
from drivers.ble import plx
from drivers.ble import temperature as tm
from drivers.ble import weight as wt
from drivers.ble.datetime_field import DateTime
from drivers.ble.ieee11073 import Finite, Special
from drivers.ble.registry import CHARACTERISTICS, Characteristic

STAMP = DateTime(2024, 3, 21, 9, 27, 50)
PLX_STATUS = plx.PlxMeasurementStatus(*([False] * 7 + [True] + [False] * 3))
PLX_DEVICE = plx.PlxDeviceSensorStatus(*([False] * 5 + [True] + [False] * 10))
PAIR = plx.SpO2PulseRate(Finite(97, 0), Finite(72, 0))
BP_STATUS = bp.BloodPressureStatus(False, False, True, bp.PulseRateRange.WITHIN_RANGE, False)
CONCENTRATION = gl.GlucoseConcentration(
    Finite(95, -5),
    gl.ConcentrationUnit.KG_PER_L,
    gl.SampleType.CAPILLARY_WHOLE_BLOOD,
    gl.SampleLocation.FINGER,
)

VALUES: dict[str, tuple[Any, Any]] = {
    "blood_pressure": (
        bp.BloodPressureMeasurement(bp.PressureUnit.MMHG, Finite(120, 0), Finite(80, 0), Finite(93, 0)),
        bp.BloodPressureMeasurement(
            bp.PressureUnit.KPA,
            Finite(160, -1),
            Finite(107, -1),
            Special.NAN,
            STAMP,
            Finite(72, 0),
            1,
            BP_STATUS,
        ),
    ),
    "intermediate_cuff_pressure": (
        bp.IntermediateCuffPressure(bp.PressureUnit.MMHG, Finite(140, 0)),
        bp.IntermediateCuffPressure(bp.PressureUnit.MMHG, Finite(140, 0), STAMP, Finite(75, 0), 1, BP_STATUS),
    ),
    "temperature": (
        tm.TemperatureMeasurement(tm.TemperatureUnit.CELSIUS, Finite(370, -1)),
        tm.TemperatureMeasurement(
            tm.TemperatureUnit.FAHRENHEIT, Finite(986, -1), STAMP, tm.TemperatureType.MOUTH
        ),
    ),
    "intermediate_temperature": (
        tm.IntermediateTemperature(tm.TemperatureUnit.CELSIUS, Finite(362, -1)),
        tm.IntermediateTemperature(
            tm.TemperatureUnit.CELSIUS, Finite(362, -1), STAMP, tm.TemperatureType.EAR
        ),
    ),
    "plx_spot_check": (
        plx.PlxSpotCheckMeasurement(Finite(97, 0), Finite(72, 0)),
        plx.PlxSpotCheckMeasurement(
            Finite(97, 0), Finite(72, 0), STAMP, PLX_STATUS, PLX_DEVICE, Finite(25, -1)
        ),
    ),
    "plx_continuous": (
        plx.PlxContinuousMeasurement(PAIR),
        plx.PlxContinuousMeasurement(PAIR, PAIR, PAIR, PLX_STATUS, PLX_DEVICE, Finite(25, -1)),
    ),
    "glucose": (
        gl.GlucoseMeasurement(1, STAMP),
        gl.GlucoseMeasurement(1, STAMP, 5, CONCENTRATION, gl.GlucoseSensorStatus(*([False] * 12)), True),
    ),
    "glucose_context": (
        gl.GlucoseMeasurementContext(1),
        gl.GlucoseMeasurementContext(
            1,
            True,
            gl.Carbohydrate(gl.CarbohydrateId.BREAKFAST, Finite(5, -2)),
            gl.Meal.PREPRANDIAL,
            gl.TesterHealth(gl.Tester.SELF, gl.Health.NO_ISSUES),
            gl.Exercise(1800, 50),
            gl.Medication(gl.MedicationId.RAPID_ACTING_INSULIN, Finite(1, -4), gl.MedicationUnit.LITRES),
            Finite(65, -1),
        ),
    ),
    "weight": (
        wt.WeightMeasurement(wt.WeightUnits.SI, Decimal("70")),
        wt.WeightMeasurement(
            wt.WeightUnits.IMPERIAL,
            Decimal("154.3"),
            STAMP,
            1,
            wt.BmiHeight(Decimal("22.9"), Decimal("68.9")),
        ),
    ),
    "weight_scale_feature": (
        wt.WeightScaleFeature(False, False, False, None, None),
        wt.WeightScaleFeature(True, True, True, wt.WEIGHT_RESOLUTIONS[4], wt.HEIGHT_RESOLUTIONS[3]),
    ),
    "heart_rate": (
        hr.HeartRateMeasurement(72),
        hr.HeartRateMeasurement(
            72, hr.HeartRateFormat.UINT16, hr.SensorContact.DETECTED, 512, (1024, 870, 901)
        ),
    ),
}
"""Characteristic -> (minimal value, value with every optional field)."""


def _rate(call: Callable[[], object], repeats: int, min_time: float) -> float:
    """Median calls per second over ``repeats`` runs of at least ``min_time`` seconds each."""
    timer = timeit.Timer(call)
    number, elapsed = timer.autorange()
    number = max(number, int(number * min_time / max(elapsed, 1e-9)))
    return statistics.median(number / seconds for seconds in timer.repeat(repeat=repeats, number=number))


def _decode_and_observe(characteristic: Characteristic[Any], data: bytes) -> object:
    return characteristic.to_observations(characteristic.decode(data))


def _payload(characteristic: Characteristic[Any], value: Any) -> bytes:
    data = characteristic.encode(value)
    if characteristic.decode(data) != value:
        raise SystemExit(f"{characteristic.name}: {data.hex(' ')} does not decode to the value it came from")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per figure (median is printed)")
    parser.add_argument("--min-time", type=float, default=0.2, help="seconds per timed run, at least")
    args = parser.parse_args()

    print(f"Python {platform.python_version()} on {platform.machine()}, {args.repeats} repeats, median")
    print()
    print(
        "| characteristic | minimal: bytes | decodes/s | full: bytes | decodes/s | decode + observations/s |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, characteristic in CHARACTERISTICS.items():
        minimal_value, full_value = VALUES[name]
        minimal, full = _payload(characteristic, minimal_value), _payload(characteristic, full_value)
        minimal_rate = _rate(partial(characteristic.decode, minimal), args.repeats, args.min_time)
        full_rate = _rate(partial(characteristic.decode, full), args.repeats, args.min_time)
        pipeline_rate = _rate(partial(_decode_and_observe, characteristic, full), args.repeats, args.min_time)
        print(
            f"| {name} | {len(minimal)} | {minimal_rate:,.0f} | {len(full)} | {full_rate:,.0f} "
            f"| {pipeline_rate:,.0f} |"
        )


if __name__ == "__main__":
    main()
