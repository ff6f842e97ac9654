"""What routine polling of a cabinet tells the edge: compartment temperature excursions, the outer
door and the drawers opening and closing, and the controller's fault code.

Each change becomes an audit row and, for excursions, the outer door and faults, a
``cabinet_event`` in the outbox, committed together. Open excursions are kept in the edge
database, so one that is under way when the edge restarts goes on (same start, same peak) instead
of being reported twice. The first poll after a start only sets the baseline for doors and faults.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from drivers.modbus.cabinet import CabinetSnapshot, ModbusCabinet
from edge.audit import AuditEvent, cabinet_actor
from edge.cabinet_events import Also, CabinetEvents
from edge.edge_db import Transaction, connect, from_text
from edge.excursions import Change, Excursion, ExcursionTracker
from edge.outbox import OutboxError

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS open_excursions (
    cabinet TEXT NOT NULL,
    compartment TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (cabinet, compartment)
);
"""
NO_FAULT = 0


def _excursion(document: str) -> Excursion:
    fields = json.loads(document)
    return Excursion(
        fields["compartment"],
        fields["direction"],
        fields["limit_c"],
        from_text(fields["started_at"]),
        fields["peak_c"],
        from_text(fields["peak_at"]),
    )


class CabinetMonitor:
    def __init__(
        self,
        cabinet_id: str,
        cabinet: ModbusCabinet,
        db_path: Path,
        events: CabinetEvents,
    ) -> None:
        self.cabinet_id = cabinet_id
        self.cabinet = cabinet
        self._db = connect(db_path, SCHEMA)
        self._events = events
        rows = self._db.execute(
            "SELECT compartment, document FROM open_excursions WHERE cabinet = ?", (cabinet_id,)
        ).fetchall()
        self.tracker = ExcursionTracker(open_excursions={row[0]: _excursion(row[1]) for row in rows})
        self._last: CabinetSnapshot | None = None
        self.poll_failures = 0

    async def run(self, interval_s: float) -> None:
        """Poll until cancelled (routine priority: commands go first)."""
        await self.cabinet.poll_forever(interval_s, self.observe, self._poll_failed)

    def observe(self, snapshot: CabinetSnapshot) -> None:
        """Everything one poll changed; a storage failure is logged and the next poll tries again
        (excursion state is only advanced once it is stored)."""
        try:
            self._temperatures(snapshot)
            if self._last is not None:
                self._doors(self._last, snapshot)
                self._fault(self._last, snapshot)
        except (OutboxError, sqlite3.Error) as exc:
            log.error("cabinet %s: could not store what the poll showed: %s", self.cabinet_id, exc)
            return
        self._last = snapshot
        if self.poll_failures:
            log.info("cabinet %s answers again after %d failed polls", self.cabinet_id, self.poll_failures)
            self.poll_failures = 0

    def close(self) -> None:
        self._db.close()

    def _poll_failed(self, exc: Exception) -> None:
        if self.poll_failures == 0:
            log.warning("cabinet %s: poll failed: %s", self.cabinet_id, exc)
        self.poll_failures += 1

    def _temperatures(self, snapshot: CabinetSnapshot) -> None:
        for compartment, celsius in snapshot.temperature_c.items():
            before = self.tracker.open.get(compartment)
            change = self.tracker.observe(
                compartment,
                snapshot.read_at,
                celsius,
                snapshot.temperature_low_c[compartment],
                snapshot.temperature_high_c[compartment],
            )
            if change is not None:
                self._publish_excursion(change, before)
            elif self.tracker.open.get(compartment) != before:
                self._keep_open(self._db, self.tracker.open[compartment])

    def _publish_excursion(self, change: Change, before: Excursion | None) -> None:
        excursion = change.excursion
        data = {
            "event": "temperature_excursion",
            "phase": change.phase,
            "ended": change.phase == "ended",
            **excursion.facts(),
        }

        def also(db: sqlite3.Connection, envelope_id: str) -> None:
            if change.phase == "started":
                self._keep_open(db, excursion)
            else:
                db.execute(
                    "DELETE FROM open_excursions WHERE cabinet = ? AND compartment = ?",
                    (self.cabinet_id, excursion.compartment),
                )
            self._audit_row(db, "temperature_excursion", data, envelope_id, change.phase)

        try:
            self._event(excursion.ended_at or excursion.started_at, data, also)
        except OutboxError:
            self._restore(excursion.compartment, before)
            raise

    def _restore(self, compartment: str, before: Excursion | None) -> None:
        """Undo the tracker's step for a change that could not be stored, so the next poll repeats it."""
        if before is None:
            self.tracker.open.pop(compartment, None)
        else:
            self.tracker.open[compartment] = before

    def _keep_open(self, db: sqlite3.Connection, excursion: Excursion) -> None:
        document = json.dumps(excursion.facts())
        db.execute(
            "INSERT INTO open_excursions (cabinet, compartment, document) VALUES (?, ?, ?) "
            "ON CONFLICT (cabinet, compartment) DO UPDATE SET document = excluded.document",
            (self.cabinet_id, excursion.compartment, document),
        )

    def _doors(self, last: CabinetSnapshot, now: CabinetSnapshot) -> None:
        if now.door_open is not None and now.door_open != last.door_open:
            state = "open" if now.door_open else "closed"
            data = {"event": "door", "state": state}

            def also(db: sqlite3.Connection, envelope_id: str) -> None:
                self._audit_row(db, "door_opened" if now.door_open else "door_closed", data, envelope_id)

            self._event(now.read_at, data, also)
        changed = [
            (slot, opened)
            for slot, (was, opened) in enumerate(zip(last.drawer_open, now.drawer_open, strict=True), start=1)
            if was != opened
        ]
        if changed:
            with Transaction(self._db):
                for slot, opened in changed:
                    event: AuditEvent = "door_opened" if opened else "door_closed"
                    self._audit_row(self._db, event, {"drawer": slot}, None)

    def _fault(self, last: CabinetSnapshot, now: CabinetSnapshot) -> None:
        if now.fault_code == last.fault_code:
            return
        phase = "cleared" if now.fault_code == NO_FAULT else "raised"
        data = {"event": "fault", "phase": phase, "fault_code": now.fault_code, "previous": last.fault_code}
        self._event(
            now.read_at, data, lambda db, envelope_id: self._audit_row(db, "cabinet_fault", data, envelope_id)
        )

    def _event(self, at: datetime, data: dict[str, Any], also: Also) -> None:
        self._events.publish(self.cabinet_id, None, at, data, also)

    def _audit_row(
        self,
        db: sqlite3.Connection,
        event: AuditEvent,
        detail: Mapping[str, Any],
        envelope_id: str | None,
        reason: str | None = None,
    ) -> None:
        actor = cabinet_actor(self.cabinet_id)
        self._events.audit_row(db, event, actor, {"cabinet": self.cabinet_id, **detail}, envelope_id, reason)
