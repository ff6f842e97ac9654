"""The dispensing workflow in one event loop against the simulated cabinet over Modbus TCP, with
both cabinet profiles (so it is driven by the register map alone), a real edge database and a
clock the test moves: identification by a kiosk session, a stuck lock, a partial take, a window
that closes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from careedge_common.config_cabinet import CabinetWorkflowSettings
from careedge_common.envelope import Envelope
from careedge_testkit.servers import LOOPBACK, free_port
from drivers.modbus.cabinet import ModbusBus, ModbusCabinet
from drivers.modbus.link import LinkPolicy, ModbusLink, tcp_client
from drivers.modbus.profile import load_profile
from edge.audit import AuditLog
from edge.cabinet_commands import DispenseCommands
from edge.dispensing import DispenseWorkflow
from edge.dose_store import Dose, DoseStore
from edge.envelopes import EnvelopeFactory
from edge.outbox import Outbox
from firmware_sim.cabinet.model import DEFAULT_DOSES_PER_SLOT, CabinetModel
from firmware_sim.cabinet.server import CabinetSimulator
from tests.cabinet.cabinet_kit import PROFILES, SUBJECT

T0 = datetime(2026, 4, 1, 0, 30, tzinfo=UTC)
SLOT = 5
POLICY = LinkPolicy(timeout_s=0.5, retries=1, reconnect_initial_s=0.05, reconnect_max_s=0.2)
TAKE_TIMEOUT_S = 60.0
RELOCK_S = 2 * TAKE_TIMEOUT_S
"""Longer than the take timeout, so the test sees the workflow wait for a still-released lock."""


class Clock:
    """Seconds on a fake monotonic clock for the cabinet; an aware datetime for the edge."""

    def __init__(self) -> None:
        self.elapsed = 0.0

    def monotonic(self) -> float:
        return 1000.0 + self.elapsed

    def now(self) -> datetime:
        return T0 + timedelta(seconds=self.elapsed)


@dataclass
class Rig:
    model: CabinetModel
    workflow: DispenseWorkflow
    store: DoseStore
    outbox: Outbox
    clock: Clock
    kiosk: list[str | None]

    def state(self, dose_id: str) -> str:
        dose = self.store.get(dose_id)
        assert dose is not None
        return dose.state

    def events(self) -> list[Envelope]:
        return [Envelope.model_validate_json(entry.payload) for entry in self.outbox.take(100)]

    async def run_until(self, done: Callable[[Dose], bool], dose_id: str, steps: int = 50) -> Dose:
        for _ in range(steps):
            await self.workflow.step_all()
            dose = self.store.get(dose_id)
            assert dose is not None
            if done(dose):
                return dose
        raise AssertionError(f"dose {dose_id} stuck at {dose.state}")


@pytest.fixture(params=sorted(PROFILES.glob("*.yaml")), ids=lambda path: path.stem)
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    profile = load_profile(request.param)
    clock = Clock()
    model = CabinetModel(profile, relock_after_s=RELOCK_S, seed=3, clock=clock.monotonic)
    port = free_port()
    kiosk: list[str | None] = [None]
    with CabinetSimulator(model, tcp_port=port):
        bus = ModbusBus(ModbusLink(tcp_client(LOOPBACK, port), POLICY, "cab-1"), "cab-1")
        bus.start()
        db = tmp_path / "edge.db"
        outbox, audit = Outbox(db), AuditLog(db)
        store = DoseStore(db, outbox, audit, clock.now)
        workflow = DispenseWorkflow(
            {"cab-1": ModbusCabinet(profile, bus, name="cab-1")},
            store,
            EnvelopeFactory("home-w", "gw-1"),
            CabinetWorkflowSettings(take_timeout_s=TAKE_TIMEOUT_S),
            clock.now,
            lambda: None,
            current_subject=lambda: kiosk[0],
        )
        try:
            yield Rig(model, workflow, store, outbox, clock, kiosk)
        finally:
            await bus.stop()
            store.close()
            audit.close()
            outbox.close()


def _dose(dose_id: str, doses: int = 1) -> Dose:
    return Dose(dose_id, "cab-1", SLOT, doses, SUBJECT, T0 - timedelta(minutes=5), T0 + timedelta(minutes=30))


async def test_the_residents_kiosk_session_identifies_them(rig: Rig) -> None:
    rig.model.resident_doses = 1
    rig.workflow.accept(_dose("d-1"), "edge")
    rig.kiosk[0] = "s-" + "9" * 32
    await rig.workflow.step_all()
    assert rig.state("d-1") == "due", "another resident's session releases nothing"
    rig.kiosk[0] = SUBJECT
    dose = await rig.run_until(lambda d: d.finished, "d-1")
    assert (dose.state, dose.identified_by) == ("dispensed", "kiosk-session")
    assert rig.model.slot_count(SLOT) == DEFAULT_DOSES_PER_SLOT - 1
    (event,) = rig.events()
    assert event.data is not None
    assert (event.data["event"], event.data["count_after"]) == ("dispensed", DEFAULT_DOSES_PER_SLOT - 1)


async def test_stuck_lock_is_a_fault_not_a_dispense(rig: Rig) -> None:
    rig.model.stick_lock(SLOT)
    rig.workflow.accept(_dose("d-2"), "edge")
    rig.workflow.identify("d-2", "staff:nurse")
    dose = await rig.run_until(lambda d: d.finished, "d-2")
    assert (dose.state, dose.reason) == ("fault", "the cabinet refused to release the drawer")
    assert rig.model.slot_count(SLOT) == DEFAULT_DOSES_PER_SLOT


async def test_part_of_the_dose_taken_is_a_fault_once_the_drawer_is_shut_and_locked(rig: Rig) -> None:
    rig.workflow.accept(_dose("d-3", doses=2), "edge")
    rig.workflow.identify("d-3", "staff:nurse")
    await rig.run_until(lambda d: d.state == "unlocked", "d-3")
    rig.model.open_drawer(SLOT)
    rig.model.take_doses(SLOT, 1)
    rig.model.close_drawer(SLOT)
    rig.clock.elapsed += TAKE_TIMEOUT_S
    await rig.workflow.step_all()
    assert rig.state("d-3") == "unlocked", "waits while the lock is still released"
    rig.clock.elapsed += RELOCK_S - TAKE_TIMEOUT_S + 1
    dose = await rig.run_until(lambda d: d.finished, "d-3")
    assert (dose.state, dose.reason, dose.count_after) == (
        "fault",
        "1 of 2 doses taken",
        DEFAULT_DOSES_PER_SLOT - 1,
    )


async def test_nobody_identified_before_the_window_closes_is_missed(rig: Rig) -> None:
    rig.workflow.accept(_dose("d-4"), "edge")
    await rig.workflow.step_all()
    rig.clock.elapsed += 30 * 60
    dose = await rig.run_until(lambda d: d.finished, "d-4")
    assert (dose.state, dose.reason) == ("missed", "not identified in the window")
    assert not rig.model.is_unlocked(SLOT)
    (event,) = rig.events()
    assert event.subject == SUBJECT


async def test_repeated_confirmation_and_unknown_slot(rig: Rig) -> None:
    stored, new = rig.workflow.accept(_dose("d-5"), "edge")
    assert new
    assert rig.workflow.accept(_dose("d-5"), "edge") == (stored, False)
    first = rig.workflow.identify("d-5", "staff:a")
    second = rig.workflow.identify("d-5", "staff:b")
    assert first == second
    assert second is not None
    assert second.identified_by == "staff:a"
    with pytest.raises(ValueError, match="slot 1 to"):
        rig.workflow.accept(Dose("d-6", "cab-1", 99, 1, SUBJECT, T0, T0 + timedelta(hours=1)), "edge")


async def test_a_declined_dose_is_refused_before_any_release(rig: Rig) -> None:
    rig.workflow.accept(_dose("d-7"), "edge")
    rig.workflow.identify("d-7", "staff:nurse")
    refused = rig.workflow.refuse("d-7", "staff:nurse")
    assert refused is not None
    assert (refused.state, refused.reason) == ("refused", "declined")
    await rig.workflow.step_all()
    assert not rig.model.is_unlocked(SLOT)
    assert rig.workflow.refuse("d-7", "staff:nurse") == refused, "a repeat changes nothing"


async def test_unusable_dispense_commands_are_answered_and_counted(rig: Rig) -> None:
    rejected: list[str] = []
    commands = DispenseCommands("home-w", "gw-1", rig.workflow, rejected.append)
    assert commands.handle_command(b"{not json") is None
    unknown_slot = json.dumps(
        {
            "command_id": "c-9",
            "subject": SUBJECT,
            "cabinet": "cab-1",
            "slot": 99,
            "window_start": T0.isoformat(),
            "window_end": (T0 + timedelta(hours=1)).isoformat(),
        }
    ).encode()
    reply = commands.handle_command(unknown_slot)
    assert reply is not None
    assert reply.topic == "careedge/v1/home-w/gw-1/cmd-ack/c-9"
    answer = json.loads(reply.payload)
    assert answer["status"] == "rejected"
    assert answer["error"].startswith("slot 1 to ")
    assert rejected == ["invalid_command", "unknown_cabinet_or_slot"]
    assert rig.store.open_doses() == []
