"""The real BLE driver against each simulated device type: values, units, time, subject, reference."""

from __future__ import annotations

from datetime import datetime

from ble_gatt_harness import LINGER, ZONE, Gateway, eventually, now_utc

from careedge_common.envelope import Observation
from drivers.ble.blood_pressure import PressureUnit
from drivers.ble.temperature import TemperatureUnit
from firmware_sim.ble import (
    BloodPressureMonitor,
    HeartRateSensor,
    PulseOximeter,
    Thermometer,
    WeightScale,
)

CUFF = "C4:7C:8D:6A:11:01"
SUBJECT = "s-" + "ab" * 16


def values(observations: tuple[Observation, ...]) -> dict[str, tuple[float, str]]:
    return {obs.code: (obs.value, obs.unit) for obs in observations}


def stamped(moment: datetime | None) -> datetime:
    """A device's naive wall-clock stamp as the aware time the driver should report."""
    assert moment is not None
    return moment.replace(tzinfo=ZONE)


async def test_blood_pressure_reading_after_cuff_pressures(gateway: Gateway) -> None:
    cuff = gateway.air.add(BloodPressureMonitor(CUFF, zone=ZONE))
    edge = gateway.run("blood_pressure", [CUFF.lower()], device_id="bp-floor2")
    sent = cuff.measure(128, 84, 72, cuff_pressures=[60, 120, 160])

    [reading] = await edge.readings(1)

    assert values(reading.observations) == {
        "8480-6": (128, "mm[Hg]"),
        "8462-4": (84, "mm[Hg]"),
        "8867-4": (72, "/min"),
    }
    assert reading.measured_at == stamped(sent.device_time)
    assert reading.device_id == "bp-floor2"
    assert reading.subject is None
    assert reading.source_ref == f"{CUFF}/blood_pressure"
    assert gateway.rejects == []
    assert edge.errors == []


async def test_blood_pressure_in_kpa_is_converted_and_user_mapped(gateway: Gateway) -> None:
    cuff = gateway.air.add(BloodPressureMonitor(CUFF, zone=ZONE))
    edge = gateway.run("blood_pressure", [CUFF], subject_for_user={2: SUBJECT}.get)
    cuff.measure("16.0", "10.7", 66, unit=PressureUnit.KPA, user_id=2)
    cuff.measure(131, 79, unit=PressureUnit.MMHG, user_id=1)

    first, second = await edge.readings(2)

    systolic = next(obs for obs in first.observations if obs.code == "8480-6")
    assert (systolic.value, systolic.unit) == (120, "mm[Hg]")
    assert systolic.raw is not None
    assert first.subject == SUBJECT
    assert second.subject is None


async def test_thermometer_fahrenheit_becomes_celsius(gateway: Gateway) -> None:
    thermometer = gateway.air.add(Thermometer(CUFF, zone=ZONE))
    edge = gateway.run("thermometer", [CUFF])
    sent = thermometer.measure("99.5", unit=TemperatureUnit.FAHRENHEIT, rising=["97.0", "98.6"])

    [reading] = await edge.readings(1)

    assert values(reading.observations) == {"8310-5": (37.5, "Cel")}
    assert reading.measured_at == stamped(sent.device_time)
    assert reading.source_ref == f"{CUFF}/temperature"


async def test_pulse_oximeter_spot_check_and_sampled_continuous_values(gateway: Gateway) -> None:
    oximeter = gateway.air.add(PulseOximeter(CUFF, zone=ZONE))
    edge = gateway.run("pulse_oximeter", [CUFF], policy=LINGER)
    oximeter.power_on()
    await eventually(lambda: oximeter.subscribed(0x2A5E), what="subscribed to spot checks")
    before = now_utc()
    oximeter.continuous(95, 70)
    oximeter.continuous(94, 71)
    sent = oximeter.spot_check(97, 68)

    continuous, spot = await edge.readings(2)

    assert values(continuous.observations) == {"59408-5": (95, "%"), "8867-4": (70, "/min")}
    assert before <= continuous.measured_at <= now_utc()
    assert continuous.source_ref == f"{CUFF}/plx_continuous"
    assert values(spot.observations) == {"59408-5": (97, "%"), "8867-4": (68, "/min")}
    assert spot.measured_at == stamped(sent.device_time)
    assert len(oximeter.delivered) == 3, "the second continuous value arrived and was not stored"


async def test_weight_scale_reading_with_user(gateway: Gateway) -> None:
    scale = gateway.air.add(WeightScale(CUFF, zone=ZONE))
    edge = gateway.run("weight_scale", [CUFF], subject_for_user={1: SUBJECT}.get)
    sent = scale.measure("72.35", user_id=1)

    [reading] = await edge.readings(1)

    assert values(reading.observations) == {"29463-7": (72.35, "kg")}
    assert reading.measured_at == stamped(sent.device_time)
    assert reading.subject == SUBJECT


async def test_heart_rate_stream_is_stamped_on_receipt(gateway: Gateway) -> None:
    strap = gateway.air.add(HeartRateSensor(CUFF, zone=ZONE))
    edge = gateway.run("heart_rate", [CUFF])
    strap.power_on()
    await eventually(lambda: strap.subscribed(0x2A37), what="subscribed to heart rate")
    before = now_utc()
    for rate in (64, 66, 65):
        strap.measure(rate)

    readings = await edge.readings(3)

    assert [values(reading.observations) for reading in readings] == [
        {"8867-4": (rate, "/min")} for rate in (64, 66, 65)
    ]
    assert all(before <= reading.measured_at <= now_utc() for reading in readings)
    assert strap.connected, "a streaming strap keeps its connection"
