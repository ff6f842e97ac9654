"""Device clocks wrong by hours: set through the Current Time Service, stamps corrected or replaced."""

from __future__ import annotations

from datetime import datetime, timedelta

from ble_gatt_harness import LINGER, ZONE, Gateway, eventually, now_utc

from firmware_sim.ble import BloodPressureMonitor, ClockWrong, LostConfirmation, Thermometer

CUFF = "C4:7C:8D:6A:11:01"
SECOND = timedelta(seconds=1)


def true_time(device_stamp: datetime | None, offset: timedelta) -> datetime:
    """When a device whose clock was ``offset`` ahead stamped ``device_stamp``, really."""
    assert device_stamp is not None
    return (device_stamp - offset).replace(tzinfo=ZONE)


async def test_measurement_stamped_before_the_correction_is_corrected_by_the_offset(gateway: Gateway) -> None:
    offset = timedelta(hours=5)
    cuff = gateway.air.add(BloodPressureMonitor(CUFF, zone=ZONE, clock_offset=offset))
    sent = cuff.measure(120, 80)
    edge = gateway.run("blood_pressure", [CUFF])

    [reading] = await edge.readings(1)

    assert abs(reading.measured_at - true_time(sent.device_time, offset)) <= SECOND
    assert cuff.clock.times_set == 1
    assert abs(cuff.clock.offset) < SECOND


async def test_clock_behind_is_set_before_the_next_measurement(gateway: Gateway) -> None:
    cuff = gateway.air.add(BloodPressureMonitor(CUFF, zone=ZONE, clock_offset=timedelta(hours=-7)))
    edge = gateway.run("blood_pressure", [CUFF], policy=LINGER)
    cuff.power_on()
    await eventually(lambda: cuff.subscribed(0x2A35), what="subscribed after the clock check")
    assert cuff.clock.times_set == 1

    sent = cuff.measure(118, 76)
    [reading] = await edge.readings(1)

    assert sent.device_time is not None
    assert reading.measured_at == sent.device_time.replace(tzinfo=ZONE)
    assert abs(reading.measured_at - now_utc()) < timedelta(seconds=5)


async def test_clock_within_tolerance_is_left_alone(gateway: Gateway) -> None:
    cuff = gateway.air.add(BloodPressureMonitor(CUFF, zone=ZONE, clock_offset=timedelta(seconds=20)))
    sent = cuff.measure(120, 80)
    edge = gateway.run("blood_pressure", [CUFF])

    [reading] = await edge.readings(1)

    assert cuff.clock.times_set == 0
    assert sent.device_time is not None
    assert reading.measured_at == sent.device_time.replace(tzinfo=ZONE)


async def test_clock_that_cannot_be_set_has_its_stamps_corrected(gateway: Gateway) -> None:
    offset = timedelta(hours=3)
    cuff = gateway.air.add(
        BloodPressureMonitor(CUFF, zone=ZONE, clock_offset=offset, current_time="read_only")
    )
    sent = cuff.measure(120, 80)
    edge = gateway.run("blood_pressure", [CUFF])

    [reading] = await edge.readings(1)

    assert abs(reading.measured_at - true_time(sent.device_time, offset)) <= SECOND
    assert cuff.clock.times_set == 0
    assert cuff.clock.offset == offset


async def test_clock_going_wrong_later_is_caught_on_the_next_connection(gateway: Gateway) -> None:
    cuff = gateway.air.add(BloodPressureMonitor(CUFF, zone=ZONE))
    edge = gateway.run("blood_pressure", [CUFF])
    cuff.measure(120, 80)
    await edge.readings(1)
    await eventually(lambda: not cuff.connected, what="the cuff to hang up")

    cuff.inject(ClockWrong(timedelta(hours=-2)))
    sent = cuff.measure(125, 82)
    _, reading = await edge.readings(2)

    assert abs(reading.measured_at - true_time(sent.device_time, timedelta(hours=-2))) <= SECOND
    assert cuff.clock.times_set == 1


async def test_device_without_current_time_and_clock_ahead_gets_the_receive_time(gateway: Gateway) -> None:
    thermometer = gateway.air.add(
        Thermometer(CUFF, zone=ZONE, clock_offset=timedelta(hours=2), current_time=None)
    )
    before = now_utc()
    thermometer.measure("36.8")
    edge = gateway.run("thermometer", [CUFF])

    [reading] = await edge.readings(1)

    assert before <= reading.measured_at <= now_utc()


async def test_device_without_current_time_and_clock_behind_keeps_its_stamp(gateway: Gateway) -> None:
    thermometer = gateway.air.add(
        Thermometer(CUFF, zone=ZONE, clock_offset=timedelta(hours=-2), current_time=None)
    )
    sent = thermometer.measure("36.8")
    edge = gateway.run("thermometer", [CUFF])

    [reading] = await edge.readings(1)

    assert sent.device_time is not None
    assert reading.measured_at == sent.device_time.replace(tzinfo=ZONE), (
        "nothing tells the driver it is wrong"
    )


async def test_measurement_sent_again_after_a_lost_confirmation_gets_the_same_corrected_time(
    gateway: Gateway,
) -> None:
    offset = timedelta(hours=5)
    cuff = gateway.air.add(BloodPressureMonitor(CUFF, zone=ZONE, clock_offset=offset))
    cuff.inject(LostConfirmation(0x2A35))
    cuff.measure(120, 80)
    edge = gateway.run("blood_pressure", [CUFF])

    first, again = await edge.readings(2)

    assert cuff.connections == 2
    assert cuff.clock.times_set == 1
    assert again == first, "same reference, time and values: the edge's fingerprint drops the repeat"
