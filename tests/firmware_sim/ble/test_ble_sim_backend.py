"""The simulated devices through bleak's own ``BleakScanner`` and ``BleakClient`` (custom backend)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError, BleakGATTProtocolError, BleakGATTProtocolErrorCode

from drivers.ble.errors import BleDecodeError
from drivers.ble.glucose import GlucoseConcentration
from drivers.ble.registry import by_uuid
from drivers.ble_gatt.current_time import current_time_of, decode_current_time, encode_current_time
from drivers.ble_gatt.racp import (
    RACP_UUID16,
    RacpResponse,
    RecordCount,
    ResponseCode,
    count_all,
    decode_response,
    encode_request,
    report_all,
    report_first,
    report_from,
)
from firmware_sim.ble import (
    BloodPressureMonitor,
    Delay,
    DisconnectAfter,
    GlucoseMeter,
    HeartRateSensor,
    Malformed,
    PulseOximeter,
    SimulatedAir,
    SimulatedPeripheral,
    Thermometer,
    WeightScale,
)

ZONE = ZoneInfo("Europe/Berlin")
CUFF = "C4:7C:8D:6A:11:01"
METER = "C4:7C:8D:6A:13:01"
CUFF_VALUE_LENGTH = 14
"""Flags, three SFLOATs and a time stamp."""


def uuid(uuid16: int) -> str:
    return f"0000{uuid16:04x}-0000-1000-8000-00805f9b34fb"


async def eventually(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.01)
    return result


@pytest.fixture
async def air() -> AsyncIterator[SimulatedAir]:
    simulated = SimulatedAir()
    yield simulated
    simulated.shut_down()


async def discover(air: SimulatedAir, service_uuid16: int, address: str) -> dict[str, BLEDevice]:
    """Every device the scanner heard until ``address`` had advertised twice (a full advertising
    interval, in which any other advertising device is heard too)."""
    heard: dict[str, BLEDevice] = {}
    times: dict[str, int] = {}

    def detected(device: BLEDevice, advertisement: AdvertisementData) -> None:
        heard[device.address] = device
        times[device.address] = times.get(device.address, 0) + 1

    scanner = BleakScanner(detected, [uuid(service_uuid16)], backend=air.scanner_backend)
    await scanner.start()
    try:
        await eventually(lambda: times.get(address, 0) >= 2)
    finally:
        await scanner.stop()
    return heard


async def connect(air: SimulatedAir, peripheral: SimulatedPeripheral) -> BleakClient:
    peripheral.power_on()
    heard = await discover(air, peripheral.service_uuid16, peripheral.address)
    client = BleakClient(heard[peripheral.address], backend=air.client_backend)
    await client.connect()
    return client


class Inbox:
    def __init__(self) -> None:
        self.values: list[tuple[int, bytes]] = []

    def __call__(self, characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
        self.values.append((int(characteristic.uuid[4:8], 16), bytes(data)))


async def test_scanner_hears_only_the_service_asked_for(air: SimulatedAir) -> None:
    cuff = air.add(BloodPressureMonitor(CUFF, zone=ZONE, name="UA-651"))
    thermometer = air.add(Thermometer("C4:7C:8D:6A:11:02", zone=ZONE))
    cuff.power_on()
    thermometer.power_on()

    heard = await discover(air, 0x1810, CUFF)

    assert list(heard) == [CUFF]
    assert heard[CUFF].name == "UA-651"
    assert "path" not in heard[CUFF].details, "not a BlueZ object: bleak-retry-connector leaves D-Bus alone"


async def test_client_sees_the_profile_and_current_time_services(air: SimulatedAir) -> None:
    client = await connect(air, air.add(GlucoseMeter(METER, zone=ZONE)))

    racp = client.services.get_characteristic(uuid(RACP_UUID16))
    assert racp is not None
    assert racp.properties == ["write", "indicate"]
    assert client.services.get_service(uuid(0x1808)) is not None
    assert client.services.get_service(uuid(0x1805)) is not None
    assert [d.uuid for d in racp.descriptors] == [uuid(0x2902)]
    assert client.backend_id == "SimulatedBleakClient"
    await client.disconnect()


async def test_current_time_reads_the_wrong_clock_and_a_write_sets_it(air: SimulatedAir) -> None:
    cuff = air.add(BloodPressureMonitor(CUFF, zone=ZONE, clock_offset=timedelta(hours=3)))
    client = await connect(air, cuff)

    shown = decode_current_time(bytes(await client.read_gatt_char(uuid(0x2A2B)))).wall_clock
    true_now = datetime.now(ZONE).replace(tzinfo=None)
    assert shown is not None
    assert abs(shown - true_now - timedelta(hours=3)) < timedelta(seconds=2)

    await client.write_gatt_char(uuid(0x2A2B), encode_current_time(current_time_of(true_now)), response=True)
    assert abs(cuff.clock.wall() - datetime.now(ZONE).replace(tzinfo=None)) < timedelta(seconds=2)
    assert cuff.clock.times_set == 1

    with pytest.raises(BleakGATTProtocolError) as refused:
        await client.write_gatt_char(uuid(0x2A2B), b"\x00" * 3, response=True)
    assert refused.value.code == 0x80
    await client.disconnect()


async def test_measurement_stored_while_alone_is_indicated_on_subscription(air: SimulatedAir) -> None:
    cuff = air.add(BloodPressureMonitor(CUFF, zone=ZONE))
    sent = cuff.measure(120, 80, 70)
    client = await connect(air, cuff)
    inbox = Inbox()

    await client.start_notify(uuid(0x2A35), inbox)
    await eventually(lambda: inbox.values)

    characteristic = by_uuid(0x2A35)
    assert characteristic is not None
    assert characteristic.decode(inbox.values[0][1]) == sent
    await eventually(lambda: not client.is_connected)
    assert not cuff.waiting


async def test_undelivered_measurement_survives_a_link_loss(air: SimulatedAir) -> None:
    cuff = air.add(BloodPressureMonitor(CUFF, zone=ZONE))
    cuff.measure(120, 80)
    cuff.inject(DisconnectAfter(0))
    lost: list[BleakClient] = []
    cuff.power_on()
    device = (await discover(air, 0x1810, CUFF))[CUFF]
    client = BleakClient(device, lost.append, backend=air.client_backend)
    await client.connect()

    await client.start_notify(uuid(0x2A35), Inbox())
    await eventually(lambda: lost)

    assert lost == [client]
    assert len(cuff.waiting) == 1
    assert cuff.advertising
    second = BleakClient(device, backend=air.client_backend)
    await second.connect()
    inbox = Inbox()
    await second.start_notify(uuid(0x2A35), inbox)
    await eventually(lambda: inbox.values)
    assert len(inbox.values) == 1
    assert [event.opened for event in air.links] == [True, False, True, False]


async def test_racp_needs_indications_enabled_first(air: SimulatedAir) -> None:
    client = await connect(air, air.add(GlucoseMeter(METER, zone=ZONE)))

    with pytest.raises(BleakGATTProtocolError) as refused:
        await client.write_gatt_char(uuid(RACP_UUID16), encode_request(report_all()), response=True)

    assert refused.value.code == BleakGATTProtocolErrorCode.CCCD_IMPROPERLY_CONFIGURED
    await client.disconnect()


async def racp_session(air: SimulatedAir, meter: GlucoseMeter) -> tuple[BleakClient, Inbox]:
    client = await connect(air, meter)
    inbox = Inbox()
    await client.start_notify(uuid(0x2A18), inbox)
    await client.start_notify(uuid(RACP_UUID16), inbox)
    return client, inbox


async def response(inbox: Inbox) -> RacpResponse | RecordCount:
    await eventually(lambda: any(uuid16 == RACP_UUID16 for uuid16, _ in inbox.values))
    [(_, data)] = [value for value in inbox.values if value[0] == RACP_UUID16]
    return decode_response(data)


def sequence_numbers(inbox: Inbox) -> list[int]:
    characteristic = by_uuid(0x2A18)
    assert characteristic is not None
    return [characteristic.decode(data).sequence_number for uuid16, data in inbox.values if uuid16 == 0x2A18]


async def test_racp_reports_records_from_a_sequence_number(air: SimulatedAir) -> None:
    meter = air.add(GlucoseMeter(METER, zone=ZONE))
    meter.fill_history(5)
    client, inbox = await racp_session(air, meter)

    await client.write_gatt_char(uuid(RACP_UUID16), encode_request(report_from(3)), response=True)

    assert await response(inbox) == RacpResponse(1, ResponseCode.SUCCESS)
    assert sequence_numbers(inbox) == [3, 4, 5]
    await client.disconnect()


async def test_racp_counts_and_answers_no_records_found(air: SimulatedAir) -> None:
    meter = air.add(GlucoseMeter(METER, zone=ZONE))
    meter.fill_history(2)
    client, inbox = await racp_session(air, meter)

    await client.write_gatt_char(uuid(RACP_UUID16), encode_request(count_all()), response=True)
    assert await response(inbox) == RecordCount(2)
    inbox.values.clear()
    await client.write_gatt_char(uuid(RACP_UUID16), encode_request(report_from(9)), response=True)
    assert await response(inbox) == RacpResponse(1, ResponseCode.NO_RECORDS_FOUND)
    inbox.values.clear()
    await client.write_gatt_char(uuid(RACP_UUID16), bytes.fromhex("02 01"), response=True)
    assert await response(inbox) == RacpResponse(2, ResponseCode.OP_CODE_NOT_SUPPORTED)
    await client.disconnect()


async def test_racp_abort_stops_a_transfer_and_a_second_request_waits_its_turn(air: SimulatedAir) -> None:
    meter = air.add(GlucoseMeter(METER, zone=ZONE))
    meter.fill_history(5)
    client, inbox = await racp_session(air, meter)
    meter.inject(Delay(0x2A18, 0.2))

    await client.write_gatt_char(uuid(RACP_UUID16), encode_request(report_all()), response=True)
    with pytest.raises(BleakGATTProtocolError) as busy:
        await client.write_gatt_char(uuid(RACP_UUID16), encode_request(report_all()), response=True)
    await client.write_gatt_char(uuid(RACP_UUID16), bytes.fromhex("03 00"), response=True)

    assert busy.value.code == BleakGATTProtocolErrorCode.PROCEDURE_ALREADY_IN_PROGRESS
    assert await response(inbox) == RacpResponse(3, ResponseCode.SUCCESS)
    assert sequence_numbers(inbox) == []
    await client.disconnect()


@pytest.mark.parametrize("seed", range(6))
async def test_malformed_values_of_every_device_fail_to_decode(air: SimulatedAir, seed: int) -> None:
    devices: list[tuple[SimulatedPeripheral, int, Callable[[], object]]] = []
    cuff = air.add(BloodPressureMonitor("C4:7C:8D:6A:14:01", zone=ZONE, seed=seed))
    devices.append((cuff, 0x2A35, lambda: cuff.measure(120, 80, 66, user_id=1)))
    thermometer = air.add(Thermometer("C4:7C:8D:6A:14:02", zone=ZONE, seed=seed))
    devices.append((thermometer, 0x2A1C, lambda: thermometer.measure("36.6")))
    oximeter = air.add(PulseOximeter("C4:7C:8D:6A:14:03", zone=ZONE, seed=seed))
    devices.append((oximeter, 0x2A5E, lambda: oximeter.spot_check(98, 61)))
    scale = air.add(WeightScale("C4:7C:8D:6A:14:04", zone=ZONE, seed=seed))
    devices.append((scale, 0x2A9D, lambda: scale.measure("80.5")))
    for device, uuid16, measure in devices:
        device.inject(Malformed(uuid16))
        measure()
        [(_, payload)] = device.waiting
        characteristic = by_uuid(uuid16)
        assert characteristic is not None
        with pytest.raises(BleDecodeError):
            characteristic.decode(payload)


async def test_heart_rate_strap_advertises_again_after_a_disconnect(air: SimulatedAir) -> None:
    strap = air.add(HeartRateSensor(CUFF, zone=ZONE))
    client = await connect(air, strap)
    assert not strap.advertising
    inbox = Inbox()
    await client.start_notify(uuid(0x2A37), inbox)
    strap.measure(72)
    await eventually(lambda: inbox.values)

    await client.disconnect()

    assert strap.advertising
    with pytest.raises(BleakError, match="Not connected"):
        await client.read_gatt_char(uuid(0x2A37))


async def test_same_seed_same_history_and_same_corruption(air: SimulatedAir) -> None:
    def run(seed: int, n: int) -> tuple[list[GlucoseConcentration | None], list[bytes]]:
        """Glucose values drawn, and how each corrupted 14-byte cuff value ended (nothing: cut
        short; one drawn byte: extended)."""
        meter = air.add(GlucoseMeter(f"C4:7C:8D:6A:15:{n:02X}", zone=ZONE, seed=seed))
        values = [record.concentration for record in meter.fill_history(6)]
        cuff = air.add(BloodPressureMonitor(f"C4:7C:8D:6A:16:{n:02X}", zone=ZONE, seed=seed))
        for _ in range(4):
            cuff.inject(Malformed(0x2A35))
            cuff.measure(120, 80)
        return values, [payload[CUFF_VALUE_LENGTH:] for _, payload in cuff.waiting]

    assert run(7, 1) == run(7, 2)
    assert run(7, 3) != run(8, 4)


async def test_cccd_shows_indications_until_stopped_and_first_record_is_reported(air: SimulatedAir) -> None:
    meter = air.add(GlucoseMeter(METER, zone=ZONE, first_sequence=40))
    meter.fill_history(3)
    client, inbox = await racp_session(air, meter)
    racp = client.services.get_characteristic(uuid(RACP_UUID16))
    assert racp is not None
    [cccd] = racp.descriptors

    assert bytes(await client.read_gatt_descriptor(cccd.handle)) == b"\x02\x00"
    await client.write_gatt_char(uuid(RACP_UUID16), encode_request(report_first()), response=True)
    assert await response(inbox) == RacpResponse(1, ResponseCode.SUCCESS)
    assert sequence_numbers(inbox) == [40]

    await client.stop_notify(uuid(RACP_UUID16))
    assert bytes(await client.read_gatt_descriptor(cccd.handle)) == b"\x00\x00"
    await client.disconnect()
