"""Dispensing: at dose time, once the resident is identified, release the right drawer, see from
the sensors that the dose was taken, and publish what happened (``cabinet_event``).

Each dose moves through named steps (``STEPS``); every step is committed (``edge.dose_store``)
before the next begins, and every step first looks at the cabinet's registers, so a dose picks up
where it was after a repeated command, an edge restart or a cabinet power loss:

- ``accepted``: the dose is recorded (from a schedule or a ``cmd/dispense`` command).
- ``identified``: the resident is at the cabinet (kiosk session of that resident, or a nurse's
  confirmation through the API).
- ``baseline_recorded``: the slot's dose count before, and the mailbox command ID, are committed.
- ``unlock_sent``: the controller ran the unlock command. It runs each command ID once, and the
  workflow sends the command only when the mailbox does not already hold that ID, so a drawer is
  released at most once per dose, whenever the edge died.
- ``unlocked_recorded``: the release is committed.
- ``dose_seen``: the slot count dropped by the dose (``count_before - doses`` or fewer).
- ``outcome_recorded``: the outcome, its event and its audit row are committed together.

A drawer that relocks (after its timeout or a power loss) with the count unchanged is never
released again: after ``take_timeout_s`` the dose is ``refused`` and a nurse decides what follows.
A dose still ``due`` when its window closes is ``missed``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from careedge_common.config_cabinet import CabinetWorkflowSettings
from drivers.contract import DeviceError
from drivers.modbus.cabinet import ModbusCabinet
from edge.audit import EDGE_ACTOR, cabinet_actor
from edge.crash_point import NO_CRASH, CrashPoint
from edge.dose_store import Dose, DoseStore, Outcome
from edge.envelopes import EnvelopeFactory
from edge.outbox import Message, OutboxError

log = logging.getLogger(__name__)

STEPS = (
    "accepted",
    "identified",
    "baseline_recorded",
    "unlock_sent",
    "unlocked_recorded",
    "dose_seen",
    "outcome_recorded",
)


class DispenseWorkflow:
    def __init__(
        self,
        cabinets: Mapping[str, ModbusCabinet],
        store: DoseStore,
        envelopes: EnvelopeFactory,
        settings: CabinetWorkflowSettings,
        clock: Callable[[], datetime],
        on_stored: Callable[[], None],
        *,
        current_subject: Callable[[], str | None] = lambda: None,
        crash: CrashPoint = NO_CRASH,
    ) -> None:
        """``current_subject``: the resident of the open kiosk session, if any (identification)."""
        self._cabinets = cabinets
        self._store = store
        self._envelopes = envelopes
        self._settings = settings
        self._clock = clock
        self._on_stored = on_stored
        self._current_subject = current_subject
        self._crash = crash
        self.errors = 0

    def accept(self, dose: Dose, actor: str) -> tuple[Dose, bool]:
        """Record a dose (a repeat returns the recorded one, unchanged). ``ValueError`` for a cabinet
        or slot this gateway does not have."""
        cabinet = self._cabinets.get(dose.cabinet)
        if cabinet is None:
            raise ValueError(f"no cabinet {dose.cabinet!r} on this gateway")
        if not 1 <= dose.slot <= cabinet.profile.slots:
            raise ValueError(
                f"slot 1 to {cabinet.profile.slots} on cabinet {dose.cabinet}, found {dose.slot}"
            )
        stored, new = self._store.add(
            dose, actor, "command_received" if dose.command_id else "dose_identified"
        )
        if new:
            self._crash.passed("accepted")
        return stored, new

    def identify(self, dose_id: str, by: str) -> Dose | None:
        """A nurse confirmed the resident is at the cabinet; a repeat changes nothing."""
        dose = self._store.identify(dose_id, by)
        if dose is not None and dose.state == "identified" and dose.identified_by == by:
            self._crash.passed("identified")
        return dose

    def refuse(self, dose_id: str, by: str) -> Dose | None:
        """The resident declined the dose before the drawer was released; a released one is not
        refused by hand (its outcome comes from the sensors)."""
        dose = self._store.get(dose_id)
        if dose is None or dose.state not in ("due", "identified"):
            return dose
        return self._finish(dose, "refused", by, reason="declined")

    async def run(self) -> None:
        """Advance every open dose, every ``check_interval_s``, until cancelled."""
        while True:
            await self.step_all()
            await asyncio.sleep(self._settings.check_interval_s)

    async def step_all(self) -> None:
        for dose in self._store.open_doses():
            try:
                await self.advance(dose)
            except (DeviceError, OutboxError) as exc:
                self.errors += 1
                log.warning("dose %s (%s): %s; trying again", dose.dose_id, dose.state, exc)

    async def advance(self, dose: Dose) -> Dose:
        """Take the dose as far as the cabinet lets it go now; returns where it stands."""
        now = self._clock()
        actor = cabinet_actor(dose.cabinet)
        if dose.state == "due":
            if now >= dose.window_end:
                return self._finish(dose, "missed", EDGE_ACTOR, reason="not identified in the window")
            if now < dose.window_start or self._current_subject() != dose.subject:
                return dose
            dose = self.identify(dose.dose_id, "kiosk-session") or dose
        cabinet = self._cabinets[dose.cabinet]
        if dose.state == "identified":
            if now >= dose.window_end:
                return self._finish(dose, "missed", EDGE_ACTOR, reason="drawer not released in the window")
            slot = await cabinet.read_slot(dose.slot)
            dose = self._store.begin_unlock(dose.dose_id, slot.count) or dose
            self._crash.passed("baseline_recorded")
        if dose.state == "unlocking":
            assert dose.mailbox_id is not None
            mailbox = await cabinet.read_mailbox()
            if mailbox.command_id != dose.mailbox_id:
                await cabinet.run_command(dose.mailbox_id, "unlock_slot", dose.slot)
            elif mailbox.status == "rejected":
                return self._finish(dose, "fault", actor, reason="the cabinet refused to release the drawer")
            elif mailbox.status != "done":
                if now >= dose.window_end:
                    return self._finish(
                        dose, "fault", actor, reason="the cabinet never confirmed the release"
                    )
                return dose
            self._crash.passed("unlock_sent")
            dose = self._store.unlocked(dose.dose_id, actor) or dose
            self._crash.passed("unlocked_recorded")
        if dose.state == "unlocked":
            return await self._watch(cabinet, dose, now)
        return dose

    async def _watch(self, cabinet: ModbusCabinet, dose: Dose, now: datetime) -> Dose:
        assert dose.count_before is not None
        assert dose.unlocked_at is not None
        slot = await cabinet.read_slot(dose.slot)
        taken = dose.count_before - slot.count
        actor = cabinet_actor(dose.cabinet)
        if taken >= dose.doses:
            self._crash.passed("dose_seen")
            return self._finish(dose, "dispensed", actor, count_after=slot.count)
        waited = now - dose.unlocked_at
        if slot.unlocked or slot.drawer_open or waited < timedelta(seconds=self._settings.take_timeout_s):
            return dose
        if taken <= 0:
            return self._finish(dose, "refused", actor, count_after=slot.count, reason="not taken")
        return self._finish(
            dose, "fault", actor, count_after=slot.count, reason=f"{taken} of {dose.doses} doses taken"
        )

    def _finish(
        self,
        dose: Dose,
        outcome: Outcome,
        actor: str,
        *,
        count_after: int | None = None,
        reason: str | None = None,
    ) -> Dose:
        final = self._store.finish(dose, outcome, actor, self._event, count_after=count_after, reason=reason)
        self._crash.passed("outcome_recorded")
        log.info("dose %s on cabinet %s slot %d: %s", dose.dose_id, dose.cabinet, dose.slot, outcome)
        self._on_stored()
        return final

    def _event(self, dose: Dose, seq: int, boot: int) -> Message:
        data = {"event": dose.state, **dose.facts(), "reason": dose.reason}
        return self._envelopes.cabinet_event(dose.cabinet, dose.subject, self._clock(), data, seq, boot)
