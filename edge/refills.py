"""Pharmacist refills: open a slot's drawer, record what was put in (quantity, lot, expiry) once it
agrees with the cabinet's own count, and close it again, publishing a ``refill`` cabinet event.

The count check: the cabinet counts the doses it still holds (its slot count register); the
pharmacist says how many they added and how many the slot now holds. If the cabinet's count plus
the added doses is not what the pharmacist counted (a dose fell out, someone took one, a miscount),
nothing is written: the pharmacist gets the cabinet's figure, an audit row records the mismatch,
and they count again. When the figures agree the new count is written to the cabinet and read back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from careedge_common.access.roles import Actor
from drivers.contract import DeviceError
from drivers.modbus.cabinet import ModbusCabinet
from drivers.modbus.errors import WriteNotVerified
from edge.audit import AuditEvent
from edge.cabinet_events import CabinetEvents
from edge.dose_store import DoseStore
from edge.edge_db import Transaction, connect, from_text, to_text

SCHEMA = """
CREATE TABLE IF NOT EXISTS slot_stock (
    cabinet TEXT NOT NULL,
    slot INTEGER NOT NULL,
    lot TEXT NOT NULL,
    expiry TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    PRIMARY KEY (cabinet, slot)
);
CREATE TABLE IF NOT EXISTS refills (
    refill_id INTEGER PRIMARY KEY AUTOINCREMENT,
    cabinet TEXT NOT NULL,
    slot INTEGER NOT NULL,
    pharmacist TEXT NOT NULL,
    state TEXT NOT NULL,
    mailbox_id INTEGER NOT NULL,
    count_before INTEGER NOT NULL,
    quantity INTEGER,
    added INTEGER,
    lot TEXT,
    expiry TEXT,
    opened_at TEXT NOT NULL,
    closed_at TEXT,
    envelope_id TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS refills_one_open ON refills (cabinet, slot) WHERE state != 'closed';
"""

RefillState = Literal["open", "recorded", "closed"]
RefillProblem = Literal[
    "unknown_cabinet", "unknown_refill", "count_mismatch", "drawer_open", "closed", "cabinet"
]
_COLUMNS = (
    "refill_id, cabinet, slot, pharmacist, state, mailbox_id, count_before, quantity, added, lot, expiry"
)


class RefillError(Exception):
    def __init__(self, problem: RefillProblem, detail: str, facts: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.problem: RefillProblem = problem
        self.detail = detail
        self.facts = dict(facts or {})


@dataclass(frozen=True, slots=True)
class Refill:
    refill_id: int
    cabinet: str
    slot: int
    pharmacist: str
    state: RefillState
    mailbox_id: int
    count_before: int
    quantity: int | None = None
    added: int | None = None
    lot: str | None = None
    expiry: date | None = None


@dataclass(frozen=True, slots=True)
class SlotStock:
    cabinet: str
    slot: int
    lot: str
    expiry: date
    quantity: int
    recorded_at: datetime
    recorded_by: str


def _refill(row: tuple[Any, ...]) -> Refill:
    expiry = date.fromisoformat(row[10]) if row[10] else None
    return Refill(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], expiry)


class RefillStore:
    def __init__(self, path: Path) -> None:
        self.db = connect(path, SCHEMA)

    def get(self, refill_id: int) -> Refill | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM refills WHERE refill_id = ?", (refill_id,)).fetchone()  # noqa: S608
        return None if row is None else _refill(row)

    def open_refill(self, cabinet: str, slot: int) -> Refill | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM refills WHERE cabinet = ? AND slot = ? AND state != 'closed'",  # noqa: S608
            (cabinet, slot),
        ).fetchone()
        return None if row is None else _refill(row)

    def stock(self) -> dict[tuple[str, int], SlotStock]:
        rows = self.db.execute(
            "SELECT cabinet, slot, lot, expiry, quantity, recorded_at, recorded_by FROM slot_stock"
        ).fetchall()
        return {
            (row[0], row[1]): SlotStock(
                row[0], row[1], row[2], date.fromisoformat(row[3]), row[4], from_text(row[5]), row[6]
            )
            for row in rows
        }

    def close(self) -> None:
        self.db.close()


class RefillWorkflow:
    def __init__(
        self,
        cabinets: Mapping[str, ModbusCabinet],
        store: RefillStore,
        doses: DoseStore,
        events: CabinetEvents,
    ) -> None:
        self._cabinets = cabinets
        self._store = store
        self._doses = doses
        self._events = events
        self._clock = events.clock

    async def open(self, cabinet_id: str, slot: int, member: Actor) -> Refill:
        """Release the slot's drawer for refilling; the refill already open on it, if any, is returned
        as it is (a repeated request releases nothing). Raises ``RefillError``."""
        cabinet = self._cabinet(cabinet_id, slot)
        existing = self._store.open_refill(cabinet_id, slot)
        if existing is not None:
            return existing
        state = await self._device(cabinet.read_slot(slot))
        now = self._clock()
        db = self._store.db
        with Transaction(db):
            mailbox_id = self._doses.new_mailbox_id(cabinet_id, f"refill:{slot}", db)
            cursor = db.execute(
                "INSERT INTO refills (cabinet, slot, pharmacist, state, mailbox_id, count_before, opened_at) "
                "VALUES (?, ?, ?, 'open', ?, ?, ?)",
                (cabinet_id, slot, member.name, mailbox_id, state.count, to_text(now)),
            )
            assert cursor.lastrowid is not None
            refill_id = cursor.lastrowid
            self._audit_row("refill_opened", member, cabinet_id, slot, {"count_before": state.count}, db)
        await self._device(cabinet.run_command(mailbox_id, "unlock_slot", slot))
        refill = self._store.get(refill_id)
        assert refill is not None
        return refill

    async def record(
        self, refill_id: int, *, quantity: int, added: int, lot: str, expiry: date, member: Actor
    ) -> Refill:
        """Check the pharmacist's count against the cabinet's and store quantity, lot and expiry.
        Raises ``RefillError`` (``count_mismatch`` with the cabinet's figures)."""
        refill = self._refill(refill_id)
        cabinet = self._cabinet(refill.cabinet, refill.slot)
        state = await self._device(cabinet.read_slot(refill.slot))
        facts = {"cabinet_count": state.count, "added": added, "quantity": quantity, "lot": lot}
        if state.count + added != quantity:
            self._mismatch(refill, member, facts)
            raise RefillError(
                "count_mismatch",
                f"the cabinet counts {state.count} doses in slot {refill.slot}; with {added} added it should "
                f"hold {state.count + added}, not {quantity}: please count again",
                facts,
            )
        try:
            await self._device(cabinet.write_slot_count(refill.slot, quantity))
        except WriteNotVerified as exc:
            self._mismatch(refill, member, {**facts, "write": str(exc)})
            raise RefillError(
                "count_mismatch", f"the cabinet did not take the new count: {exc}", facts
            ) from exc
        now = self._clock()
        db = self._store.db
        with Transaction(db):
            db.execute(
                "UPDATE refills SET state = 'recorded', quantity = ?, added = ?, lot = ?, expiry = ? "
                "WHERE refill_id = ?",
                (quantity, added, lot, expiry.isoformat(), refill_id),
            )
            db.execute(
                "INSERT INTO slot_stock (cabinet, slot, lot, expiry, quantity, recorded_at, recorded_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (cabinet, slot) DO UPDATE SET lot = excluded.lot, "
                "expiry = excluded.expiry, quantity = excluded.quantity, recorded_at = excluded.recorded_at, "
                "recorded_by = excluded.recorded_by",
                (refill.cabinet, refill.slot, lot, expiry.isoformat(), quantity, to_text(now), member.name),
            )
            detail = {**facts, "expiry": expiry.isoformat(), "refill_id": refill_id}
            self._audit_row("refill_recorded", member, refill.cabinet, refill.slot, detail, db)
        return self._refill(refill_id)

    async def close(self, refill_id: int, member: Actor) -> Refill:
        """Finish the refill once the drawer is shut; publishes the ``refill`` event. Raises
        ``RefillError`` (``drawer_open``)."""
        refill = self._refill(refill_id)
        cabinet = self._cabinet(refill.cabinet, refill.slot)
        state = await self._device(cabinet.read_slot(refill.slot))
        if state.drawer_open:
            raise RefillError("drawer_open", f"drawer {refill.slot} is still open: close it first")
        now = self._clock()
        data = {
            "event": "refill",
            "refill_id": refill_id,
            "slot": refill.slot,
            "recorded": refill.state == "recorded",
            "count_before": refill.count_before,
            "count_after": state.count,
            "added": refill.added,
            "lot": refill.lot,
            "expiry": refill.expiry.isoformat() if refill.expiry else None,
            "pharmacist": member.name,
        }

        def also(db: sqlite3.Connection, envelope_id: str) -> None:
            db.execute(
                "UPDATE refills SET state = 'closed', closed_at = ?, envelope_id = ? WHERE refill_id = ?",
                (to_text(now), envelope_id, refill_id),
            )
            self._audit_row("refill_closed", member, refill.cabinet, refill.slot, data, db, envelope_id)

        self._events.publish(refill.cabinet, None, now, data, also)
        closed = self._store.get(refill_id)
        assert closed is not None
        return closed

    def _mismatch(self, refill: Refill, member: Actor, facts: Mapping[str, Any]) -> None:
        self._audit_row("refill_mismatch", member, refill.cabinet, refill.slot, facts, None)

    def _refill(self, refill_id: int) -> Refill:
        refill = self._store.get(refill_id)
        if refill is None:
            raise RefillError("unknown_refill", f"no refill {refill_id}")
        if refill.state == "closed":
            raise RefillError("closed", f"refill {refill_id} is closed")
        return refill

    def _cabinet(self, cabinet_id: str, slot: int) -> ModbusCabinet:
        cabinet = self._cabinets.get(cabinet_id)
        if cabinet is None or not 1 <= slot <= cabinet.profile.slots:
            raise RefillError("unknown_cabinet", f"no slot {slot} on a cabinet {cabinet_id!r} here")
        return cabinet

    @staticmethod
    async def _device(action: Any) -> Any:
        try:
            return await action
        except DeviceError as exc:
            raise RefillError("cabinet", f"the cabinet did not answer as expected: {exc}") from exc

    def _audit_row(
        self,
        event: AuditEvent,
        member: Actor,
        cabinet: str,
        slot: int,
        detail: Mapping[str, Any],
        db: sqlite3.Connection | None,
        envelope_id: str | None = None,
    ) -> None:
        self._events.audit_row(
            db, event, member.label, {"cabinet": cabinet, "slot": slot, **detail}, envelope_id
        )
