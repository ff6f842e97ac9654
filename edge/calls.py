"""The kiosk page's "call nurse" button: a ``call`` envelope through the outbox, like any reading.

The call is stored durably and published at QoS 1 on ``.../call`` (DESIGN §3), so a call pressed
while the broker is unreachable still goes out when it comes back. A second press within
``CALL_REPEAT_S`` in the same session is the same call (an anxious resident presses again), not
a new alarm; after that, a press is a new call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from edge.audit import PAGE_ACTOR, AuditEntry, AuditLog
from edge.envelopes import EnvelopeFactory
from edge.kiosk_metrics import KioskMetrics
from edge.kiosk_sessions import SessionService
from edge.outbox import Outbox

CALL_REPEAT_S = 30.0


@dataclass(frozen=True, slots=True)
class PlacedCall:
    envelope_id: str
    at: datetime
    session_id: str | None
    repeated: bool = False
    """True when this press was folded into an earlier call."""


class NurseCaller:
    def __init__(
        self,
        outbox: Outbox,
        envelopes: EnvelopeFactory,
        audit: AuditLog,
        sessions: SessionService,
        metrics: KioskMetrics,
        clock: Callable[[], datetime],
        station: str,
        on_stored: Callable[[], None],
    ) -> None:
        self._outbox = outbox
        self._envelopes = envelopes
        self._audit = audit
        self._sessions = sessions
        self._metrics = metrics
        self._clock = clock
        self._station = station
        self._on_stored = on_stored
        self.last: PlacedCall | None = None

    def call(self) -> PlacedCall:
        """Store a call for the open session's resident (or nobody); raises ``OutboxError``."""
        now = self._clock()
        session = self._sessions.current()
        session_id = session.id if session is not None else None
        last = self.last
        if (
            last is not None
            and last.session_id == session_id
            and now - last.at < timedelta(seconds=CALL_REPEAT_S)
        ):
            return replace(last, repeated=True)
        subject = session.subject if session is not None else None
        entry = self._outbox.add(
            lambda seq, boot: self._envelopes.call(self._station, subject, now, seq, boot),
            also=lambda db, entries: self._audit.record(
                AuditEntry("nurse_called", now, PAGE_ACTOR, session_id, subject, envelope_id=entries[0].id),
                db,
            ),
            bounded=False,
        )
        self._metrics.nurse_calls.inc()
        self._on_stored()
        self.last = PlacedCall(entry.id, now, session_id)
        return self.last
