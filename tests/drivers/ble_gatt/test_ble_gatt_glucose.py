"""Glucose records through the Record Access Control Point: full, incremental, resumed, corrected."""

from __future__ import annotations

from datetime import datetime, timedelta

from ble_gatt_harness import ZONE, EdgeStandIn, Gateway, eventually

from drivers.ble.glucose import GlucoseMeasurement
from drivers.ble.ieee11073 import Finite
from drivers.ble_gatt import parse_glucose_ref
from drivers.ble_gatt.errors import LinkLost, RacpTimeout, RecordNotStored
from drivers.ble_gatt.racp import Operator
from drivers.contract import Reading
from firmware_sim.ble import DisconnectAfter, Drop, GlucoseMeter, Malformed

METER = "C4:7C:8D:6A:13:01"
GLUCOSE = 0x2A18
RACP = 0x2A52


def sequence(reading: Reading) -> int:
    ref = parse_glucose_ref(reading.source_ref)
    assert ref is not None
    assert ref[0] == METER
    return ref[1]


def mmol(reading: Reading) -> float:
    [observation] = reading.observations
    assert (observation.code, observation.unit) == ("2339-0", "mmol/L")
    return observation.value


def records_sent(meter: GlucoseMeter) -> int:
    return [uuid for uuid, _ in meter.delivered].count(GLUCOSE)


def expected(record: GlucoseMeasurement, clock_was_ahead_by: timedelta = timedelta(0)) -> datetime:
    """When the record was really taken, by a meter whose clock was ``clock_was_ahead_by`` ahead."""
    assert record.device_time is not None
    return (record.device_time - clock_was_ahead_by).replace(tzinfo=ZONE)


def sent_mmol(record: GlucoseMeasurement) -> float:
    assert record.concentration is not None
    assert isinstance(record.concentration.value, Finite)
    return float(record.concentration.value.decimal * 1000)


async def test_all_records_first_then_only_new_ones(gateway: Gateway) -> None:
    meter = gateway.air.add(GlucoseMeter(METER, zone=ZONE, seed=3))
    history = meter.fill_history(5)
    edge = gateway.run("glucose_meter", [METER])

    readings = await edge.readings(5)
    assert [sequence(reading) for reading in readings] == [1, 2, 3, 4, 5]
    assert [reading.measured_at for reading in readings] == [expected(record) for record in history]
    assert [mmol(reading) for reading in readings] == [sent_mmol(record) for record in history]
    await eventually(lambda: not meter.connected, what="the driver to hang up after the transfer")

    meter.measure(mg_per_dl=97)
    readings = await edge.readings(6)

    assert sequence(readings[5]) == 6
    assert mmol(readings[5]) == 5.4
    assert records_sent(meter) == 6, "the second transfer asked only for the new record"
    assert edge.errors == []


async def test_a_restarted_gateway_asks_after_the_last_stored_record(gateway: Gateway) -> None:
    meter = gateway.air.add(GlucoseMeter(METER, zone=ZONE))
    meter.fill_history(5)
    earlier = EdgeStandIn()
    earlier.stored.extend(
        Reading("dev", expected(record), None, (), f"{METER}/glucose/{record.sequence_number}")
        for record in meter.records[:3]
    )

    edge = gateway.run("glucose_meter", [METER], edge=earlier)
    readings = await edge.readings(5)

    assert [sequence(reading) for reading in readings[3:]] == [4, 5]
    assert records_sent(meter) == 2


async def test_link_lost_mid_transfer_resumes_without_duplicates_or_gaps(gateway: Gateway) -> None:
    meter = gateway.air.add(GlucoseMeter(METER, zone=ZONE))
    meter.fill_history(10)
    meter.inject(DisconnectAfter(4))
    edge = gateway.run("glucose_meter", [METER])

    readings = await edge.readings(10)
    await eventually(lambda: not meter.connected, what="the transfer to end")

    assert [sequence(reading) for reading in readings] == list(range(1, 11))
    assert [type(exc) for exc in edge.errors] == [LinkLost]
    assert records_sent(meter) == 10, "records 1-4 were not sent again"
    assert meter.connections == 2


async def test_missing_racp_response_times_out_and_the_next_transfer_asks_for_new_records(
    gateway: Gateway,
) -> None:
    meter = gateway.air.add(GlucoseMeter(METER, zone=ZONE))
    meter.fill_history(3)
    meter.inject(Drop(RACP))
    edge = gateway.run("glucose_meter", [METER])

    await edge.error(RacpTimeout)
    await eventually(lambda: not meter.connected, what="the driver to hang up")
    meter.measure("8.1")
    readings = await edge.readings(4)

    assert [sequence(reading) for reading in readings] == [1, 2, 3, 4]
    assert records_sent(meter) == 4


async def test_record_the_edge_could_not_store_is_fetched_next_time(gateway: Gateway) -> None:
    meter = gateway.air.add(GlucoseMeter(METER, zone=ZONE))
    meter.fill_history(5)
    failures = [3]

    def storage_fails_once(reading: Reading) -> bool:
        if sequence(reading) in failures:
            failures.remove(sequence(reading))
            return True
        return False

    edge = gateway.run("glucose_meter", [METER], edge=EdgeStandIn(refuse=storage_fails_once))
    await edge.error(RecordNotStored)
    await eventually(lambda: not meter.connected, what="the driver to hang up")
    assert [sequence(reading) for reading in edge.stored] == [1, 2]
    meter.measure("5.0")
    readings = await edge.readings(6)

    assert [sequence(reading) for reading in readings] == [1, 2, 3, 4, 5, 6]
    assert [sequence(reading) for reading in edge.refused] == [3]
    assert [type(exc) for exc in edge.errors] == [RecordNotStored]


async def test_malformed_record_is_counted_and_the_rest_taken(gateway: Gateway) -> None:
    meter = gateway.air.add(GlucoseMeter(METER, zone=ZONE))
    meter.fill_history(4)
    meter.inject(Malformed(GLUCOSE, how="extend"))
    edge = gateway.run("glucose_meter", [METER])

    await eventually(lambda: len(edge.stored) == 3 and not meter.connected, what="the transfer")

    assert [sequence(reading) for reading in edge.stored] == [2, 3, 4]
    assert gateway.rejects == ["long"]
    assert edge.errors == []


async def test_control_solution_record_is_skipped_once(gateway: Gateway) -> None:
    meter = gateway.air.add(GlucoseMeter(METER, zone=ZONE))
    meter.measure("5.8")
    meter.measure("7.0", control_solution=True)
    edge = gateway.run("glucose_meter", [METER])
    await eventually(lambda: len(edge.stored) == 1 and not meter.connected, what="the first transfer")

    meter.measure("6.2")
    readings = await edge.readings(2)

    assert [sequence(reading) for reading in readings] == [1, 3]
    assert gateway.rejects == ["no_value"]
    assert records_sent(meter) == 3, "record 2 was not asked for again"


async def test_records_stamped_on_a_wrong_clock_stay_corrected_across_a_resumed_transfer(
    gateway: Gateway,
) -> None:
    ahead = timedelta(hours=4)
    meter = gateway.air.add(GlucoseMeter(METER, zone=ZONE, clock_offset=ahead))
    history = meter.fill_history(6)
    meter.inject(DisconnectAfter(2 + 3))
    edge = gateway.run("glucose_meter", [METER])

    readings = await edge.readings(6)
    await eventually(lambda: not meter.connected, what="the transfer to end")
    assert [type(exc) for exc in edge.errors] == [LinkLost], "the probe of the last record and 3 records"
    assert meter.clock.times_set == 1

    assert [sequence(reading) for reading in readings] == [1, 2, 3, 4, 5, 6]
    for reading, record in zip(readings, history, strict=True):
        assert abs(reading.measured_at - expected(record, ahead)) <= timedelta(seconds=1)

    fresh = meter.measure("6.6")
    readings = await edge.readings(7)
    assert readings[6].measured_at == expected(fresh)


async def test_meter_without_last_record_query_keeps_its_wrong_clock_and_stamps_are_corrected(
    gateway: Gateway,
) -> None:
    behind = timedelta(hours=-6)
    meter = gateway.air.add(
        GlucoseMeter(
            METER,
            zone=ZONE,
            clock_offset=behind,
            operators=[Operator.ALL_RECORDS, Operator.GREATER_THAN_OR_EQUAL],
        )
    )
    history = meter.fill_history(3)
    edge = gateway.run("glucose_meter", [METER])

    readings = await edge.readings(3)

    assert meter.clock.times_set == 0
    for reading, record in zip(readings, history, strict=True):
        assert abs(reading.measured_at - expected(record, behind)) <= timedelta(seconds=1)
    assert edge.errors == []
