"""Doses to dispense, and how far each got, in the edge database (DESIGN §4, §5).

A dose is recorded before anything is done for it, and each step is committed before the next
is taken, so after a crash the workflow knows where it was and reconciles the rest from the
cabinet's registers. The outcome (dispensed, refused, missed, fault) commits in one transaction
with its ``cabinet_event`` in the outbox and its audit row: it is published exactly once.

The mailbox IDs that release drawers come from ``mailbox_ids`` (AUTOINCREMENT, never reused), so
the controller, which runs each command ID once, can never be made to release a drawer twice for
one dose.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args

from edge.audit import AuditEntry, AuditEvent, AuditLog
from edge.edge_db import Transaction, connect, from_text, to_text
from edge.outbox import Message, Outbox

SCHEMA = """
CREATE TABLE IF NOT EXISTS doses (
    dose_id TEXT PRIMARY KEY,
    command_id TEXT UNIQUE,
    cabinet TEXT NOT NULL,
    slot INTEGER NOT NULL,
    doses INTEGER NOT NULL,
    subject TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    state TEXT NOT NULL,
    identified_by TEXT,
    mailbox_id INTEGER UNIQUE,
    count_before INTEGER,
    count_after INTEGER,
    unlocked_at TEXT,
    envelope_id TEXT,
    reason TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS doses_open ON doses (cabinet, window_start)
    WHERE state NOT IN ('dispensed', 'refused', 'missed', 'fault');
CREATE TABLE IF NOT EXISTS mailbox_ids (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cabinet TEXT NOT NULL,
    purpose TEXT NOT NULL
);
"""

DoseState = Literal["due", "identified", "unlocking", "unlocked", "dispensed", "refused", "missed", "fault"]
Outcome = Literal["dispensed", "refused", "missed", "fault"]
OUTCOMES: frozenset[str] = frozenset(get_args(Outcome))
OUTCOME_EVENTS: dict[Outcome, AuditEvent] = {
    "dispensed": "dispensed",
    "refused": "refused",
    "missed": "missed",
    "fault": "dispense_fault",
}


@dataclass(frozen=True, slots=True)
class Dose:
    dose_id: str
    cabinet: str
    slot: int
    doses: int
    subject: str
    window_start: datetime
    window_end: datetime
    state: DoseState = "due"
    command_id: str | None = None
    """The cloud's ``command_id`` when the dose came from ``cmd/dispense``."""
    identified_by: str | None = None
    mailbox_id: int | None = None
    count_before: int | None = None
    count_after: int | None = None
    unlocked_at: datetime | None = None
    envelope_id: str | None = None
    reason: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in OUTCOMES

    def facts(self) -> dict[str, Any]:
        """What an audit row and an event say about the dose (no names, the subject is a pseudonym)."""
        return {
            "dose_id": self.dose_id,
            "command_id": self.command_id,
            "cabinet": self.cabinet,
            "slot": self.slot,
            "doses": self.doses,
            "window_start": to_text(self.window_start),
            "window_end": to_text(self.window_end),
            "identified_by": self.identified_by,
            "count_before": self.count_before,
            "count_after": self.count_after,
        }


_COLUMNS = (
    "dose_id, cabinet, slot, doses, subject, window_start, window_end, state, command_id, identified_by, "
    "mailbox_id, count_before, count_after, unlocked_at, envelope_id, reason"
)


def _dose(row: tuple[Any, ...]) -> Dose:
    return Dose(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        from_text(row[5]),
        from_text(row[6]),
        row[7],
        row[8],
        row[9],
        row[10],
        row[11],
        row[12],
        from_text(row[13]) if row[13] else None,
        row[14],
        row[15],
    )


class DoseStore:
    def __init__(self, path: Path, outbox: Outbox, audit: AuditLog, clock: Callable[[], datetime]) -> None:
        self._db = connect(path, SCHEMA)
        self._outbox = outbox
        self._audit = audit
        self._clock = clock

    def add(self, dose: Dose, actor: str, event: AuditEvent) -> tuple[Dose, bool]:
        """Record a dose unless its ID (or command ID) is known; returns the stored dose and whether
        it is new. A repeat of a known command changes nothing and is audited as a repeat."""
        with self._transaction():
            known = self._find(dose)
            if known is not None:
                if dose.command_id is not None:
                    self._audit_row("command_repeated", actor, known, self._db)
                return known, False
            self._db.execute(
                f"INSERT INTO doses ({_COLUMNS}, updated_at) VALUES ({', '.join('?' * 17)})",  # noqa: S608
                (
                    dose.dose_id,
                    dose.cabinet,
                    dose.slot,
                    dose.doses,
                    dose.subject,
                    to_text(dose.window_start),
                    to_text(dose.window_end),
                    "due",
                    dose.command_id,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    to_text(self._clock()),
                ),
            )
            self._audit_row(event, actor, dose, self._db)
        return dose, True

    def get(self, dose_id: str) -> Dose | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM doses WHERE dose_id = ?", (dose_id,)).fetchone()  # noqa: S608
        return None if row is None else _dose(row)

    def by_command(self, command_id: str) -> Dose | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM doses WHERE command_id = ?",  # noqa: S608
            (command_id,),
        ).fetchone()
        return None if row is None else _dose(row)

    def open_doses(self) -> list[Dose]:
        """Doses without an outcome, oldest window first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM doses "  # noqa: S608
            "WHERE state NOT IN ('dispensed', 'refused', 'missed', 'fault') ORDER BY window_start, dose_id"
        ).fetchall()
        return [_dose(row) for row in rows]

    def recent(self, limit: int) -> list[Dose]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM doses ORDER BY window_start DESC, dose_id LIMIT ?",  # noqa: S608
            (limit,),
        ).fetchall()
        return [_dose(row) for row in rows]

    def identify(self, dose_id: str, by: str) -> Dose | None:
        """``due`` -> ``identified``; a dose past that is returned unchanged (a repeated confirmation)."""
        return self._move(dose_id, ("due",), "identified", "dose_identified", by, {"identified_by": by})

    def begin_unlock(self, dose_id: str, count_before: int) -> Dose | None:
        """``identified`` -> ``unlocking`` with the slot's count before and a fresh mailbox ID."""
        with self._transaction():
            dose = self.get(dose_id)
            if dose is None or dose.state != "identified":
                return dose
            mailbox_id = self.new_mailbox_id(dose.cabinet, f"dose:{dose_id}", self._db)
            self._update(dose_id, "unlocking", {"count_before": count_before, "mailbox_id": mailbox_id})
        return self.get(dose_id)

    def unlocked(self, dose_id: str, actor: str) -> Dose | None:
        now = self._clock()
        return self._move(
            dose_id, ("unlocking",), "unlocked", "drawer_unlocked", actor, {"unlocked_at": to_text(now)}
        )

    def finish(
        self,
        dose: Dose,
        outcome: Outcome,
        actor: str,
        build: Callable[[Dose, int, int], Message],
        *,
        count_after: int | None = None,
        reason: str | None = None,
    ) -> Dose:
        """The outcome, its event in the outbox and its audit row, in one transaction.

        Raises ``edge.outbox.OutboxError`` (nothing changed then)."""
        final = replace(
            dose,
            state=outcome,
            count_after=count_after if count_after is not None else dose.count_after,
            reason=reason,
        )

        def also(db: sqlite3.Connection, entries: Any) -> None:
            envelope_id = entries[0].id
            db.execute(
                "UPDATE doses SET state = ?, count_after = ?, reason = ?, envelope_id = ?, updated_at = ? "
                "WHERE dose_id = ?",
                (outcome, final.count_after, reason, envelope_id, to_text(self._clock()), dose.dose_id),
            )
            self._audit_row(OUTCOME_EVENTS[outcome], actor, final, db, envelope_id=envelope_id)

        entry = self._outbox.add(lambda seq, boot: build(final, seq, boot), also=also)
        stored = self.get(dose.dose_id)
        assert stored is not None
        assert stored.envelope_id == entry.id
        return stored

    def new_mailbox_id(self, cabinet: str, purpose: str, db: sqlite3.Connection | None = None) -> int:
        cursor = (db or self._db).execute(
            "INSERT INTO mailbox_ids (cabinet, purpose) VALUES (?, ?)", (cabinet, purpose)
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def close(self) -> None:
        self._db.close()

    def _find(self, dose: Dose) -> Dose | None:
        known = self.get(dose.dose_id)
        if known is None and dose.command_id is not None:
            known = self.by_command(dose.command_id)
        return known

    def _move(
        self,
        dose_id: str,
        from_states: tuple[DoseState, ...],
        to_state: DoseState,
        event: AuditEvent,
        actor: str,
        values: Mapping[str, object],
    ) -> Dose | None:
        with self._transaction():
            dose = self.get(dose_id)
            if dose is None or dose.state not in from_states:
                return dose
            self._update(dose_id, to_state, values)
            moved = self.get(dose_id)
            assert moved is not None
            self._audit_row(event, actor, moved, self._db)
        return moved

    def _update(self, dose_id: str, state: DoseState, values: Mapping[str, object]) -> None:
        assignments = "".join(f", {column} = ?" for column in values)
        self._db.execute(
            f"UPDATE doses SET state = ?, updated_at = ?{assignments} WHERE dose_id = ?",  # noqa: S608
            (state, to_text(self._clock()), *values.values(), dose_id),
        )

    def _audit_row(
        self,
        event: AuditEvent,
        actor: str,
        dose: Dose,
        db: sqlite3.Connection,
        envelope_id: str | None = None,
    ) -> None:
        self._audit.record(
            AuditEntry(
                event,
                self._clock(),
                actor,
                subject=dose.subject,
                envelope_id=envelope_id,
                reason=dose.reason,
                detail=dose.facts(),
            ),
            db,
        )

    def _transaction(self) -> Transaction:
        return Transaction(self._db)
