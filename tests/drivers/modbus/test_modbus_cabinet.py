"""The driver against the simulated cabinet over real Modbus, with both profiles, TCP and RTU.

The simulator counts the requests it answered, so "one request per contiguous range" and
"commands before the next poll" are checked on the wire, not inside the driver.
"""

from __future__ import annotations

import asyncio

import pytest
from modbus_rig import RELOCK_S, Rig, eventually, until

from drivers.contract import DeviceUnavailable
from drivers.modbus.errors import (
    CommandRejected,
    DeviceBusy,
    DeviceFailure,
    DeviceTimeout,
    IllegalAddress,
    WriteNotVerified,
)
from drivers.modbus.profile import Table
from drivers.modbus.request_queue import Priority
from firmware_sim.cabinet.model import DEFAULT_FIRMWARE_VERSION, FAULT_SENSOR, DrawerLocked

EXPECTED_POLL_REQUESTS = {"careedge-sim-8": 7, "medtower-12": 10}
"""Contiguous ranges in each shipped profile (worked out by hand from the YAML files)."""
WRITE_COILS = 15


def _resolution(rig: Rig) -> float:
    """Half a step of the temperature register, or float rounding for float32."""
    return rig.cabinet.profile.input_registers.temperature.scale / 2 + 1e-6


async def test_poll_decodes_every_point_of_the_profile(rig: Rig) -> None:
    fridge_sets = {"fridge"}
    rig.model.push_temperature("fridge", 3.3)
    snapshot = await rig.cabinet.poll()
    slots = rig.cabinet.profile.slots
    assert snapshot.slot_count == (28,) * slots
    assert snapshot.occupied == (True,) * slots
    assert snapshot.unlocked == snapshot.drawer_open == (False,) * slots
    assert (snapshot.door_open, snapshot.buzzer) == (False, False)
    assert snapshot.temperature_c["fridge"] == pytest.approx(3.3, abs=_resolution(rig))
    assert snapshot.temperature_c["ambient"] == pytest.approx(22.0, abs=_resolution(rig))
    assert snapshot.humidity_pct == {"fridge": pytest.approx(45.0), "ambient": pytest.approx(45.0)}
    for name in fridge_sets:
        assert (snapshot.temperature_low_c[name], snapshot.temperature_high_c[name]) == (2.0, 8.0)
    assert (snapshot.temperature_low_c["ambient"], snapshot.temperature_high_c["ambient"]) == (15.0, 25.0)
    assert (snapshot.firmware_version, snapshot.fault_code) == (DEFAULT_FIRMWARE_VERSION, 0)
    assert snapshot.mailbox.status == "idle"


async def test_negative_temperatures_keep_their_sign(rig: Rig) -> None:
    rig.model.push_temperature("fridge", -18.5)
    snapshot = await rig.cabinet.poll()
    assert snapshot.temperature_c["fridge"] == pytest.approx(-18.5, abs=_resolution(rig))


async def test_a_poll_reads_each_contiguous_range_in_one_request(rig: Rig) -> None:
    rig.model.clear_served()
    await rig.cabinet.poll()
    served = [(r.function_code, r.address, r.count) for r in rig.model.served]
    assert len(served) == EXPECTED_POLL_REQUESTS[rig.cabinet.profile.model]
    assert sorted(served) == sorted((b.table.value, b.address, b.count) for b in rig.cabinet.read_plan)


async def test_unlock_then_the_resident_takes_a_dose(rig: Rig) -> None:
    with pytest.raises(DrawerLocked):
        rig.model.open_drawer(3)
    await rig.cabinet.unlock_slot(3)
    rig.model.open_drawer(3)
    assert (await rig.cabinet.read_slot(3)).drawer_open
    rig.model.take_doses(3, 2)
    rig.model.close_drawer(3)
    slot = await rig.cabinet.read_slot(3)
    assert (slot.unlocked, slot.drawer_open, slot.occupied, slot.count) == (True, False, True, 26)


async def test_the_lock_relocks_by_itself(rig: Rig) -> None:
    await rig.cabinet.unlock_slot(1)
    rig.clock.advance(RELOCK_S + 0.1)
    assert not (await rig.cabinet.read_slot(1)).unlocked
    with pytest.raises(DrawerLocked):
        rig.model.open_drawer(1)


async def test_writes_are_verified_by_reading_back(rig: Rig) -> None:
    await rig.cabinet.write_slot_count(2, 40)
    await rig.cabinet.write_setpoints("fridge", 1.5, 9.5)
    assert rig.model.slot_count(2) == 40
    snapshot = await rig.cabinet.poll()
    assert (snapshot.temperature_low_c["fridge"], snapshot.temperature_high_c["fridge"]) == (1.5, 9.5)


async def test_a_stuck_lock_fails_write_verification(rig: Rig) -> None:
    rig.model.stick_lock(2)
    with pytest.raises(WriteNotVerified, match=r"coils\.drawer_unlock\[1\]: wrote True, read back False"):
        await rig.cabinet.unlock_slot(2)
    with pytest.raises(CommandRejected):
        await rig.cabinet.run_command(9, "unlock_slot", 2)
    with pytest.raises(DrawerLocked):
        rig.model.open_drawer(2)


async def test_a_mailbox_command_runs_once_per_command_id(rig: Rig) -> None:
    state = await rig.cabinet.run_command(41, "unlock_slot", 5)
    assert (state.command_id, state.argument, state.status) == (41, 5, "done")
    assert rig.model.is_unlocked(5)
    rig.clock.advance(RELOCK_S + 0.1)
    assert not (await rig.cabinet.read_slot(5)).unlocked
    repeated = await rig.cabinet.run_command(41, "unlock_slot", 5)
    assert repeated.status == "done"
    assert not (await rig.cabinet.read_slot(5)).unlocked, "a repeated command ID must not unlock again"
    await rig.cabinet.run_command(42, "unlock_slot", 5)
    assert (await rig.cabinet.read_slot(5)).unlocked


async def test_exception_responses_raise_named_errors(rig: Rig) -> None:
    rig.model.answer_with_exception(0x02, count=1)
    with pytest.raises(IllegalAddress, match="exception code 0x02"):
        await rig.cabinet.read_slot(1)
    rig.model.answer_with_exception(0x04, count=1)
    with pytest.raises(DeviceFailure):
        await rig.cabinet.unlock_slot(1)
    rig.model.clear_served()
    rig.model.answer_with_exception(0x06)
    with pytest.raises(DeviceBusy):
        await rig.cabinet.read_mailbox()
    assert len(rig.model.served) == 2, "a busy answer is retried once (retries=1), then raised"


async def test_a_busy_answer_is_retried_and_the_request_succeeds(rig: Rig) -> None:
    rig.model.answer_with_exception(0x06, count=1)
    assert (await rig.cabinet.read_slot(4)).count == 28


async def test_no_answer_times_out_after_the_retries(rig: Rig) -> None:
    rig.model.clear_served()
    rig.model.drop_responses()
    with pytest.raises(DeviceTimeout):
        await rig.cabinet.read_slot(1)
    assert rig.model.ignored == 2, "one send and one retry"
    rig.model.clear_faults()
    rig.model.drop_responses(1)
    assert (await eventually(lambda: rig.cabinet.read_slot(1), "an answer after one lost")).count == 28


async def test_a_silent_cabinet_costs_one_request_and_its_retries_per_poll(rig: Rig) -> None:
    rig.model.drop_responses()
    with pytest.raises(DeviceTimeout):
        await rig.cabinet.poll()

    async def after_the_poll() -> None:
        """Queued behind whatever the poll left queued (same priority, first come first served)."""

    await rig.cabinet.bus.queue.submit(Priority.POLL, after_the_poll)
    assert rig.model.ignored == 2, "the first request and one retry; the poll's other requests are not sent"


async def test_a_broken_probe_reads_out_of_range_with_a_fault_code(rig: Rig) -> None:
    rig.model.fail_sensor("fridge")
    snapshot = await rig.cabinet.poll()
    assert snapshot.temperature_c["fridge"] > 1000
    assert snapshot.fault_code == FAULT_SENSOR
    await rig.cabinet.run_command(7, "clear_fault")
    assert (await rig.cabinet.poll()).fault_code == 0


async def test_power_loss_resets_locks_and_keeps_counts(rig: Rig) -> None:
    await rig.cabinet.unlock_slot(1)
    rig.model.open_drawer(1)
    rig.model.take_doses(1, 3)
    rig.model.close_drawer(1)
    await rig.cabinet.run_command(11, "buzz")
    rig.model.power_off()
    with pytest.raises((DeviceTimeout, DeviceUnavailable)):
        await rig.cabinet.poll()
    rig.model.power_on()
    snapshot = await eventually(rig.cabinet.poll, "the cabinet answering after power returns")
    assert snapshot.unlocked == (False,) * rig.cabinet.profile.slots
    assert snapshot.buzzer is False
    assert snapshot.slot_count[0] == 25
    assert snapshot.mailbox.command_id == 11, "the mailbox is in holding registers and survives"


async def test_a_command_issued_during_a_poll_goes_before_the_rest_of_it(rig: Rig) -> None:
    queue = rig.cabinet.bus.queue
    blocks = len(rig.cabinet.read_plan)
    rig.model.clear_served()
    served_before = len(queue.served)
    poll = asyncio.create_task(rig.cabinet.poll())
    await until(lambda: len(queue.served) > served_before, "the first poll request on the wire", interval=0)
    assert queue.pending == blocks - 1
    await rig.cabinet.unlock_slot(6)
    await poll
    assert queue.served[served_before:] == [Priority.POLL, Priority.COMMAND] + [Priority.POLL] * (blocks - 1)
    on_the_wire = [request.function_code for request in rig.model.served]
    assert on_the_wire[1:3] == [WRITE_COILS, Table.COILS.value], "the unlock and its read-back came second"
    assert len(on_the_wire) == blocks + 2


async def test_the_driver_reconnects_after_the_controller_restarts(tcp_rig: Rig) -> None:
    await tcp_rig.cabinet.poll()
    tcp_rig.simulator.stop_serving()
    with pytest.raises((DeviceUnavailable, DeviceTimeout)):
        await tcp_rig.cabinet.poll()
    with pytest.raises(DeviceUnavailable):
        await tcp_rig.cabinet.poll()
    tcp_rig.simulator.start_serving()
    snapshot = await eventually(tcp_rig.cabinet.poll, "a poll after the restart")
    assert snapshot.slot_count[0] == 28
    assert tcp_rig.link.connected
