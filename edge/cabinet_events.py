"""Where the cabinet workflows put what happened: a ``cabinet_event`` in the outbox and its audit
rows, committed together, then a nudge to the publisher."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edge.audit import AuditEntry, AuditEvent, AuditLog
from edge.envelopes import EnvelopeFactory
from edge.outbox import Outbox, OutboxEntry

Also = Callable[[sqlite3.Connection, str], None]
"""Rows to write in the event's transaction, given the connection and the event's envelope ID."""


@dataclass(frozen=True, slots=True)
class CabinetEvents:
    outbox: Outbox
    envelopes: EnvelopeFactory
    audit: AuditLog
    clock: Callable[[], datetime]
    on_stored: Callable[[], None]

    def publish(
        self, cabinet: str, subject: str | None, at: datetime, data: dict[str, Any], also: Also
    ) -> OutboxEntry:
        """Raises ``edge.outbox.OutboxError`` with nothing stored."""
        entry = self.outbox.add(
            lambda seq, boot: self.envelopes.cabinet_event(cabinet, subject, at, data, seq, boot),
            also=lambda db, entries: also(db, entries[0].id),
        )
        self.on_stored()
        return entry

    def audit_row(
        self,
        db: sqlite3.Connection | None,
        event: AuditEvent,
        actor: str,
        detail: Mapping[str, Any],
        envelope_id: str | None = None,
        reason: str | None = None,
    ) -> None:
        """One audit row now (``db``: inside that connection's write transaction)."""
        entry = AuditEntry(event, self.clock(), actor, envelope_id=envelope_id, reason=reason, detail=detail)
        self.audit.record(entry, db)
