"""Reconnect backoff and the polling loop: bounded, named policies that keep going after faults."""

from __future__ import annotations

import asyncio

import pytest
from modbus_rig import Rig, until

from drivers.modbus.cabinet import CabinetSnapshot
from drivers.modbus.errors import DeviceTimeout
from drivers.modbus.link import Backoff

STOP_GUARD_S = 5.0
"""Far beyond a stop's real duration; only keeps a regression from hanging the suite."""


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_up_to_its_maximum_and_resets_on_success() -> None:
    clock = Clock()
    backoff = Backoff(0.5, 3.0, clock)
    assert backoff.wait_left() == 0
    assert [backoff.failed() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff.wait_left() == 3.0
    clock.now += 2.5
    assert backoff.wait_left() == 0.5
    backoff.succeeded()
    assert backoff.wait_left() == 0
    assert backoff.failed() == 0.5


async def test_poll_forever_reports_a_failed_poll_and_keeps_polling(tcp_rig: Rig) -> None:
    snapshots: list[CabinetSnapshot] = []
    errors: list[Exception] = []
    tcp_rig.model.push_temperature("fridge", 9.0)
    polling = asyncio.create_task(tcp_rig.cabinet.poll_forever(0.01, snapshots.append, errors.append))
    try:
        await until(lambda: len(snapshots) >= 2, "two polls")
        tcp_rig.model.drop_responses()
        await until(lambda: bool(errors), "a failed poll")
        tcp_rig.model.clear_faults()
        seen = len(snapshots)
        await until(lambda: len(snapshots) > seen, "polling to resume")
    finally:
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
    assert isinstance(errors[0], DeviceTimeout)
    assert snapshots[-1].temperature_c["fridge"] == 9.0


async def test_stopping_the_bus_ends_a_request_waiting_for_an_answer(rig: Rig) -> None:
    rig.model.drop_responses()
    waiting = asyncio.create_task(rig.cabinet.read_slot(1))
    await until(lambda: rig.model.ignored >= 1, "the request on the wire")
    await asyncio.wait_for(rig.cabinet.bus.stop(), STOP_GUARD_S)
    with pytest.raises(asyncio.CancelledError):
        await waiting
