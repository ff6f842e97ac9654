"""The simulated cabinet's physics, on its own: locks, drawers, doses, mailbox, resident, power."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.modbus.profile import Table, load_profile
from firmware_sim.cabinet.model import EXCEPTION_ILLEGAL_ADDRESS, CabinetModel, DrawerLocked

PROFILE = load_profile(Path(__file__).resolve().parents[2] / "config" / "profiles" / "sim-cabinet.yaml")
WRITE_COILS = 15
WRITE_REGISTERS = 16
UNLOCK_SLOT = 1


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def _model(clock: Clock) -> CabinetModel:
    return CabinetModel(PROFILE, relock_after_s=10.0, seed=3, clock=clock)


def _unlock(model: CabinetModel, slot: int) -> None:
    assert model.write(WRITE_COILS, Table.COILS, slot - 1, [1]) is None


def test_a_drawer_opens_only_while_its_lock_is_released_and_it_relocks_by_itself() -> None:
    clock = Clock()
    model = _model(clock)
    with pytest.raises(DrawerLocked):
        model.open_drawer(1)
    _unlock(model, 1)
    clock.now += 9.9
    model.open_drawer(1)
    clock.now += 0.2
    assert not model.is_unlocked(1)
    assert model.drawer_is_open(1), "an open drawer stays open when the lock relocks"
    model.close_drawer(1)
    with pytest.raises(DrawerLocked):
        model.open_drawer(1)


def test_releasing_one_lock_does_not_extend_another() -> None:
    clock = Clock()
    model = _model(clock)
    _unlock(model, 1)
    clock.now += 6
    _unlock(model, 2)
    clock.now += 5
    assert not model.is_unlocked(1)
    assert model.is_unlocked(2)


def test_doses_leave_only_an_open_drawer_and_empty_slots_read_unoccupied() -> None:
    model = _model(Clock())
    with pytest.raises(ValueError, match="closed"):
        model.take_doses(2, 1)
    _unlock(model, 2)
    model.open_drawer(2)
    with pytest.raises(ValueError, match="holds 28 doses, cannot take 29"):
        model.take_doses(2, 29)
    model.take_doses(2, 28)
    occupied = model.read(Table.DISCRETE_INPUTS.value, PROFILE.discrete_inputs.slot_occupied.address, 8)
    assert occupied == [1, 0, 1, 1, 1, 1, 1, 1]


def test_reads_outside_the_map_are_illegal_addresses() -> None:
    model = _model(Clock())
    assert model.read(Table.HOLDING_REGISTERS.value, 12, 1) == EXCEPTION_ILLEGAL_ADDRESS
    assert model.write(WRITE_REGISTERS, Table.HOLDING_REGISTERS, 24, [0, 0]) == EXCEPTION_ILLEGAL_ADDRESS


def test_the_mailbox_runs_a_command_id_once() -> None:
    clock = Clock()
    model = _model(clock)
    mailbox = [0, 7, UNLOCK_SLOT, 4]
    assert model.write(WRITE_REGISTERS, Table.HOLDING_REGISTERS, 20, mailbox) is None
    assert model.is_unlocked(4)
    clock.now += 11
    assert model.write(WRITE_REGISTERS, Table.HOLDING_REGISTERS, 20, mailbox) is None
    assert not model.is_unlocked(4)


def test_the_scripted_resident_takes_doses_from_each_released_drawer_once() -> None:
    clock = Clock()
    model = _model(clock)
    model.resident_doses = 2
    _unlock(model, 3)
    model.tick()
    model.tick()
    assert model.slot_count(3) == 26
    assert model.slot_count(4) == 28


def test_temperature_drifts_back_towards_its_target_once_released() -> None:
    clock = Clock()
    model = _model(clock)
    model.push_temperature("fridge", 12.0)
    clock.now += 600
    model.tick()
    assert model.temperature("fridge") == 12.0
    model.release_temperature("fridge")
    clock.now += 1800
    model.tick()
    assert model.temperature("fridge") == pytest.approx(5.0, abs=1.0)


def test_power_loss_clears_coils_and_keeps_holding_registers() -> None:
    model = _model(Clock())
    _unlock(model, 1)
    assert model.write(WRITE_REGISTERS, Table.HOLDING_REGISTERS, 0, [12]) is None
    model.power_off()
    assert not model.answers()
    model.power_on()
    assert model.answers()
    assert model.read(Table.COILS.value, 0, 8) == [0] * 8
    assert model.slot_count(1) == 12
