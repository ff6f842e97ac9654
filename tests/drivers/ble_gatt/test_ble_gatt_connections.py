"""Scanning, allowlist, retries and connection slots: the driver against the simulated air."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from ble_gatt_harness import FAST, LINGER, ZONE, Gateway, eventually

from drivers.ble_gatt import BleHealthDriver, BlePolicy, ConnectionSlots
from drivers.ble_gatt.errors import AdapterUnavailable, ConnectFailed, NoConnectionSlot
from drivers.contract import DeviceUnavailable
from firmware_sim.ble import BloodPressureMonitor, RefuseConnections, SimulatedAir, Thermometer

OURS = "C4:7C:8D:6A:11:01"
NEIGHBOURS = "C4:7C:8D:6A:11:02"
THERMOMETER = "C4:7C:8D:6A:11:03"


async def test_only_allowed_addresses_with_the_profile_service_are_connected(gateway: Gateway) -> None:
    ours = gateway.air.add(BloodPressureMonitor(OURS, zone=ZONE))
    neighbours = gateway.air.add(BloodPressureMonitor(NEIGHBOURS, zone=ZONE))
    thermometer = gateway.air.add(Thermometer(THERMOMETER, zone=ZONE))
    edge = gateway.run("blood_pressure", [OURS, THERMOMETER])
    neighbours.measure(150, 100)
    thermometer.measure("37.0")
    ours.measure(120, 80)

    [reading] = await edge.readings(1)
    await eventually(lambda: not ours.connected, what="our cuff to hang up")

    assert reading.source_ref == f"{OURS}/blood_pressure"
    assert {event.address for event in gateway.air.links} == {OURS}
    assert neighbours.connections == 0
    assert neighbours.waiting
    assert thermometer.connections == 0


async def test_refused_connection_is_retried_by_bleak_retry_connector(gateway: Gateway) -> None:
    cuff = gateway.air.add(BloodPressureMonitor(OURS, zone=ZONE))
    edge = gateway.run("blood_pressure", [OURS])
    cuff.inject(RefuseConnections(1))
    cuff.measure(120, 80)

    await edge.readings(1)

    assert edge.errors == []
    assert cuff.connections == 1


async def test_connection_failing_every_attempt_is_reported_and_retried_later(gateway: Gateway) -> None:
    cuff = gateway.air.add(BloodPressureMonitor(OURS, zone=ZONE))
    edge = gateway.run("blood_pressure", [OURS])
    cuff.inject(RefuseConnections(FAST.connect_attempts + 1))
    cuff.measure(120, 80)

    await edge.readings(1)

    assert [type(exc) for exc in edge.errors] == [ConnectFailed]
    assert isinstance(edge.errors[0], DeviceUnavailable)
    assert OURS in str(edge.errors[0])


async def test_missing_adapter_fails_open_with_device_unavailable() -> None:
    air = SimulatedAir(adapters=["hci0"])
    driver = BleHealthDriver(
        device_id="bp",
        profile="blood_pressure",
        addresses=[OURS],
        timezone=ZONE,
        on_rejected=lambda reason: None,
        slots=ConnectionSlots(1),
        adapter="hci1",
        client_backend=air.client_backend,
        scanner_backend=air.scanner_backend,
    )

    with pytest.raises(AdapterUnavailable, match="hci1"):
        await driver.open()
    await driver.close()


async def test_three_devices_two_slots_never_more_than_two_connected() -> None:
    air = SimulatedAir()
    slots = ConnectionSlots(2)
    gateway = Gateway(air, slots)
    policy = BlePolicy(connect_attempts=2, slot_wait_s=5, idle_disconnect_s=0.3)
    cuffs = [air.add(BloodPressureMonitor(f"C4:7C:8D:6A:12:{n:02X}", zone=ZONE)) for n in range(3)]
    edges = [
        gateway.run("blood_pressure", [cuff.address], device_id=f"bp{n}", policy=policy)
        for n, cuff in enumerate(cuffs)
    ]
    try:
        for cuff in cuffs:
            cuff.power_on()
        await eventually(lambda: len(air.connected()) == 2, what="two connections")
        waiting = next(cuff for cuff in cuffs if not cuff.connected)
        assert len(slots.holders("hci0")) == 2
        assert waiting.address not in slots.holders("hci0")

        waiting.measure(119, 77)
        [reading] = await edges[cuffs.index(waiting)].readings(1)

        assert reading.source_ref.startswith(waiting.address)
        assert air.peak() == 2
        assert all(not edge.errors for edge in edges)
    finally:
        await gateway.stop()


async def test_slot_wait_beyond_the_policy_is_no_connection_slot() -> None:
    air = SimulatedAir()
    gateway = Gateway(air, ConnectionSlots(1))
    holder = air.add(BloodPressureMonitor(OURS, zone=ZONE))
    late = air.add(BloodPressureMonitor(NEIGHBOURS, zone=ZONE))
    gateway.run("blood_pressure", [OURS], device_id="a", policy=LINGER)
    edge = gateway.run(
        "blood_pressure", [NEIGHBOURS], device_id="b", policy=BlePolicy(slot_wait_s=0.2, idle_disconnect_s=10)
    )
    try:
        holder.power_on()
        await eventually(lambda: holder.connected, what="the first cuff to hold the only slot")
        late.power_on()

        error = await edge.error(NoConnectionSlot)

        assert late.connections == 0
        assert OURS in str(error)
    finally:
        await gateway.stop()


async def test_separate_adapters_have_separate_slots() -> None:
    air = SimulatedAir(adapters=["hci0", "hci1"])
    gateway = Gateway(air, ConnectionSlots(1))
    first = air.add(BloodPressureMonitor(OURS, zone=ZONE))
    second = air.add(BloodPressureMonitor(NEIGHBOURS, zone=ZONE))
    gateway.run("blood_pressure", [OURS], device_id="a", policy=LINGER, adapter="hci0")
    gateway.run("blood_pressure", [NEIGHBOURS], device_id="b", policy=LINGER, adapter="hci1")
    try:
        first.power_on()
        second.power_on()
        await eventually(lambda: first.connected and second.connected, what="both connected")

        assert air.connected("hci0") == {OURS}
        assert air.connected("hci1") == {NEIGHBOURS}
    finally:
        await gateway.stop()


def test_unknown_profile_and_glucose_without_sequence_source_are_refused() -> None:
    common = {
        "device_id": "x",
        "addresses": [OURS],
        "timezone": ZoneInfo("UTC"),
        "on_rejected": lambda reason: None,
        "slots": ConnectionSlots(1),
    }
    with pytest.raises(ValueError, match="profile one of"):
        BleHealthDriver(profile="spirometer", **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="last_glucose_sequence"):
        BleHealthDriver(profile="glucose_meter", **common)  # type: ignore[arg-type]
