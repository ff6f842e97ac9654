"""Faulty devices: malformed values, links dropped mid-indication, slow and missing indications."""

from __future__ import annotations

import pytest
from ble_gatt_harness import LINGER, ZONE, Gateway, eventually

from drivers.ble_gatt.errors import IndicationTimeout, LinkLost
from firmware_sim.ble import BloodPressureMonitor, Delay, DisconnectAfter, Drop, Malformed, Thermometer

CUFF = "C4:7C:8D:6A:11:01"
FINAL = 0x2A35


@pytest.mark.parametrize("how", ["truncate", "extend"])
async def test_malformed_value_is_counted_and_skipped(gateway: Gateway, how: str) -> None:
    cuff = gateway.air.add(BloodPressureMonitor(CUFF, zone=ZONE))
    edge = gateway.run("blood_pressure", [CUFF])
    cuff.inject(Malformed(FINAL, how="truncate" if how == "truncate" else "extend"))
    cuff.measure(150, 95)
    await eventually(lambda: gateway.rejects, what="the rejection")
    cuff.measure(121, 79)

    [reading] = await edge.readings(1)

    assert gateway.rejects == ["short" if how == "truncate" else "long"]
    assert {obs.code: obs.value for obs in reading.observations}["8480-6"] == 121
    assert edge.errors == []


async def test_malformed_value_chosen_by_seed_never_crashes(gateway: Gateway) -> None:
    thermometers = [
        gateway.air.add(Thermometer(f"C4:7C:8D:6A:11:{n:02X}", zone=ZONE, seed=n)) for n in range(4)
    ]
    edge = gateway.run("thermometer", [t.address for t in thermometers])
    for thermometer in thermometers:
        thermometer.inject(Malformed(0x2A1C))
        thermometer.measure("38.1")
        thermometer.measure("36.9")

    readings = await edge.readings(4)

    assert len(gateway.rejects) == 4
    assert set(gateway.rejects) <= {"short", "long"}
    assert [obs.value for reading in readings for obs in reading.observations] == [36.9] * 4
    assert edge.errors == []


async def test_link_lost_mid_measurement_then_the_stored_result_arrives_once(gateway: Gateway) -> None:
    cuff = gateway.air.add(BloodPressureMonitor(CUFF, zone=ZONE))
    edge = gateway.run("blood_pressure", [CUFF], policy=LINGER)
    cuff.power_on()
    await eventually(lambda: cuff.subscribed(FINAL), what="subscribed")
    cuff.inject(DisconnectAfter(2))

    sent = cuff.measure(133, 88, cuff_pressures=[90, 150])
    [reading] = await edge.readings(1)

    assert [type(exc) for exc in edge.errors] == [LinkLost]
    assert cuff.connections == 2
    assert sent.device_time is not None
    assert reading.measured_at == sent.device_time.replace(tzinfo=ZONE)
    assert [uuid for uuid, _ in cuff.delivered].count(FINAL) == 1
    await eventually(lambda: not cuff.connected, what="the cuff to hang up")
    assert len(edge.stored) == 1


async def test_link_lost_between_measurements_is_a_normal_end(gateway: Gateway) -> None:
    cuff = gateway.air.add(BloodPressureMonitor(CUFF, zone=ZONE))
    edge = gateway.run("blood_pressure", [CUFF], policy=LINGER)
    cuff.power_on()
    await eventually(lambda: cuff.subscribed(FINAL), what="subscribed")
    cuff.inject(DisconnectAfter(0))

    cuff.measure(133, 88)
    await edge.readings(1)

    assert edge.errors == [], "no measurement was under way when the link dropped"
    assert cuff.connections == 2


async def test_slow_indication_within_the_timeout_arrives(gateway: Gateway) -> None:
    cuff = gateway.air.add(BloodPressureMonitor(CUFF, zone=ZONE))
    edge = gateway.run("blood_pressure", [CUFF], policy=LINGER)
    cuff.power_on()
    await eventually(lambda: cuff.subscribed(FINAL), what="subscribed")
    cuff.inject(Delay(FINAL, 0.2))

    cuff.measure(140, 90, cuff_pressures=[100])
    [reading] = await edge.readings(1)

    assert {obs.code: obs.value for obs in reading.observations}["8480-6"] == 140
    assert edge.errors == []


async def test_missing_final_indication_times_out_and_the_next_measurement_is_taken(gateway: Gateway) -> None:
    cuff = gateway.air.add(BloodPressureMonitor(CUFF, zone=ZONE))
    edge = gateway.run("blood_pressure", [CUFF], policy=LINGER)
    cuff.power_on()
    await eventually(lambda: cuff.subscribed(FINAL), what="subscribed")
    cuff.inject(Drop(FINAL))

    cuff.measure(140, 90, cuff_pressures=[100, 150])
    await edge.error(IndicationTimeout)
    await eventually(lambda: not cuff.connected, what="the driver to hang up")
    cuff.measure(126, 81)
    [reading] = await edge.readings(1)

    assert {obs.code: obs.value for obs in reading.observations}["8480-6"] == 126
    assert [type(exc) for exc in edge.errors] == [IndicationTimeout]


async def test_slow_indication_beyond_the_timeout_is_missing_then_comes_on_reconnection(
    gateway: Gateway,
) -> None:
    cuff = gateway.air.add(BloodPressureMonitor(CUFF, zone=ZONE))
    edge = gateway.run("blood_pressure", [CUFF], policy=LINGER)
    cuff.power_on()
    await eventually(lambda: cuff.subscribed(FINAL), what="subscribed")
    cuff.inject(Delay(FINAL, 2.0))

    cuff.measure(141, 91, cuff_pressures=[100])
    await edge.error(IndicationTimeout)
    [reading] = await edge.readings(1, timeout=10)

    assert {obs.code: obs.value for obs in reading.observations}["8480-6"] == 141
    assert len(edge.stored) == 1
