"""Staff assign an unbound reading to a resident; every assignment and reassignment is audited.

An assignment publishes the reading again as a correction: a new envelope with the subject set,
``historical: true`` and ``supersedes`` naming the envelope it replaces (the original, or the
previous correction on a reassignment). The bridge must treat it as a correction and replace the
superseded point rather than store the measurement twice (a bridge-side change, tracked apart).
The correction, the unbound row's new state and the audit row commit in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from edge.audit import AuditEntry, AuditEvent, AuditLog, staff_actor
from edge.envelopes import EnvelopeFactory
from edge.kiosk_metrics import KioskMetrics
from edge.outbox import Outbox, OutboxEntry
from edge.residents import Roster
from edge.unbound import UnboundStore

AssignmentRefusal = Literal["unknown_reading", "unknown_subject", "already_assigned"]


class AssignmentError(Exception):
    """The assignment was refused; ``reason`` says why, the message names the reading, never a name."""

    def __init__(self, reason: AssignmentRefusal, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: AssignmentRefusal = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Assignment:
    reading_id: str
    envelope_id: str
    """The correction just stored for publishing."""
    subject: str
    previous_subject: str | None
    event: AuditEvent


class Assigner:
    def __init__(
        self,
        outbox: Outbox,
        envelopes: EnvelopeFactory,
        unbound: UnboundStore,
        audit: AuditLog,
        roster: Roster,
        metrics: KioskMetrics,
        clock: Callable[[], datetime],
        on_stored: Callable[[], None],
    ) -> None:
        self._outbox = outbox
        self._envelopes = envelopes
        self._unbound = unbound
        self._audit = audit
        self._roster = roster
        self._metrics = metrics
        self._clock = clock
        self._on_stored = on_stored

    def assign(self, reading_id: str, subject: str, staff: str) -> Assignment:
        """Put unbound reading ``reading_id`` on roster resident ``subject``, on behalf of ``staff``.

        Raises ``AssignmentError`` (no such unbound reading, a subject not on the roster, or the
        reading already has that subject) and ``OutboxError`` (nothing changed then).
        """
        record = self._unbound.get(reading_id)
        if record is None:
            raise AssignmentError("unknown_reading", f"no unbound reading {reading_id}")
        if subject not in self._roster:
            raise AssignmentError("unknown_subject", "the subject is not on this kiosk's roster")
        if record.subject == subject:
            raise AssignmentError("already_assigned", f"reading {reading_id} already has that subject")
        event: AuditEvent = "assigned" if record.subject is None else "reassigned"
        actor = staff_actor(staff)
        now = self._clock()

        def also(db: sqlite3.Connection, entries: Sequence[OutboxEntry]) -> None:
            correction_id = entries[0].id
            self._unbound.mark_assigned(db, reading_id, subject, correction_id, actor, now)
            self._audit.record(
                AuditEntry(
                    event,
                    now,
                    actor,
                    subject=subject,
                    previous_subject=record.subject,
                    reading_id=reading_id,
                    envelope_id=correction_id,
                ),
                db,
            )

        entry = self._outbox.add(
            lambda seq, boot: self._envelopes.correction(
                record.envelope, subject, record.latest_id, seq, boot
            ),
            also=also,
            bounded=False,
        )
        self._metrics.assignments.labels(event=event).inc()
        self._on_stored()
        return Assignment(reading_id, entry.id, subject, record.subject, event)
