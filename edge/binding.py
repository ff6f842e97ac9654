"""Give each reading its subject on the way into the outbox (DESIGN §1: session binding).

A reading that carries a subject keeps it: the HL7 kiosk pseudonymises PID-3 itself, and a cuff
that reports a user number maps it through ``DeviceConfig.user_map`` in its driver. Any other
reading gets the subject of the session its measurement time falls in (``edge.sessions``), or
none: then it is published with subject null and recorded as unbound for staff, in the same
transaction as its outbox row, so a crash can never leave one without the other.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from careedge_common.envelope import Envelope
from drivers.contract import Reading
from edge.audit import EDGE_ACTOR, AuditEntry, AuditLog
from edge.kiosk_metrics import KioskMetrics
from edge.outbox import OutboxEntry
from edge.sessions import SessionBook, UnboundReason
from edge.unbound import UnboundStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BoundReading:
    reading: Reading
    """With the subject it is published under (None when unbound)."""
    session_id: str | None
    """The kiosk session it belongs to: the one that bound it, or the open one of its own subject."""
    unbound: UnboundReason | None
    """Why no subject could be given; None when it has one."""
    by_session: bool = False
    """True when the subject came from the session, not from the device."""


Stored = Sequence[tuple[BoundReading, OutboxEntry]]


class ReadingBinder:
    def __init__(
        self,
        book: SessionBook,
        unbound: UnboundStore,
        audit: AuditLog,
        metrics: KioskMetrics,
        clock: Callable[[], datetime],
        on_stored: Callable[[BoundReading, OutboxEntry], None],
    ) -> None:
        """``on_stored`` hears every newly stored reading after its commit (the kiosk page)."""
        self._book = book
        self._unbound = unbound
        self._audit = audit
        self._metrics = metrics
        self._clock = clock
        self._on_stored = on_stored

    def bind(self, reading: Reading, *, by_session: bool) -> BoundReading:
        """Decide the subject; changes nothing, so a reading that fails to store leaves no trace.

        ``by_session`` says whether the device is used at the kiosk station (``SESSION_BOUND_KINDS``);
        a reading without a subject from any other device stays unbound: never attributed by guess.
        """
        if reading.subject is not None:
            current = self._book.current()
            own = current is not None and current.subject == reading.subject
            return BoundReading(reading, current.id if own and current else None, None)
        if not by_session:
            return BoundReading(reading, None, "not_session_bound")
        binding = self._book.bind(reading.measured_at)
        if binding.session is None:
            return BoundReading(reading, None, binding.unbound)
        return BoundReading(
            replace(reading, subject=binding.subject), binding.session.id, None, by_session=True
        )

    def record(self, db: sqlite3.Connection, stored: Stored) -> None:
        """Inside the outbox transaction (``Outbox.add_many``'s ``also``): note each new unbound reading."""
        now = self._clock()
        for bound, entry in stored:
            if entry.duplicate or bound.unbound is None:
                continue
            envelope = Envelope.model_validate_json(entry.payload)
            self._unbound.record(db, entry.payload, envelope, bound.unbound, now)
            self._audit.record(
                AuditEntry("unbound_recorded", now, EDGE_ACTOR, reading_id=entry.id, reason=bound.unbound), db
            )

    def stored(self, fresh: Stored) -> None:
        """After the commit, for readings stored for the first time: keep sessions alive, tell the page."""
        for bound, entry in fresh:
            device = bound.reading.device_id
            if bound.unbound is not None:
                self._metrics.readings_unbound.labels(device=device, reason=bound.unbound).inc()
                log.info("device %s: reading %s stored unbound (%s)", device, entry.id, bound.unbound)
            if bound.by_session:
                self._metrics.readings_bound.labels(device=device).inc()
            if bound.session_id is not None:
                self._book.touch(bound.session_id)
            self._on_stored(bound, entry)
