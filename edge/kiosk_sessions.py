"""Sessions at the kiosk as residents see them: a card or code starts one, the roster names it.

Decisions (see ``edge.sessions`` for the binding rules):
- A card or code whose pseudonym is not on the roster starts no session, and ends the open one
  (reason ``unknown_card``): somebody else is at the kiosk now, so a reading from here on must not
  land on the previous resident. The page says the card was not recognised; staff see the event
  (with the pseudonym, never the code) in the audit log.
- The resident of the open session presenting their card again continues it.
- Every start and end is audited; an end by timeout or restart names the edge as the actor.
- After a restart, sessions are rebuilt from the audit log, so late readings still find them. A
  session that was open when the edge stopped is ended at its start plus the timeout (at most
  now), reason ``restart``: the edge no longer knows how long it really lasted.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast, get_args

from edge.audit import EDGE_ACTOR, AuditEntry, AuditLog
from edge.kiosk_metrics import KioskMetrics
from edge.residents import Roster
from edge.sessions import SESSION_HISTORY, Change, EndReason, Session, SessionBook

log = logging.getLogger(__name__)

Outcome = Literal["started", "continued", "unknown"]
EDGE_REASONS: frozenset[EndReason] = frozenset({"timeout", "restart"})


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the page should tell whoever is in front of it: ``unknown_card`` or an end reason."""

    kind: str
    at: datetime


class SessionService:
    def __init__(
        self,
        book: SessionBook,
        roster: Roster,
        audit: AuditLog,
        metrics: KioskMetrics,
        clock: Callable[[], datetime],
    ) -> None:
        self._book = book
        self._roster = roster
        self._audit = audit
        self._metrics = metrics
        self._clock = clock
        self.notice: Notice | None = None
        """The latest unknown card or session end, until the next session starts."""

    def current(self) -> Session | None:
        return self._book.current()

    def display_name(self, session: Session) -> str:
        """The roster's name for the session's resident (sessions start only for roster subjects)."""
        return self._roster.display_name(session.subject) or ""

    def identified(self, subject: str, actor: str) -> Outcome:
        """A card or code was presented by ``actor`` (a reader, the page)."""
        if subject not in self._roster:
            self._apply(self._book.end("unknown_card"), actor)
            self._write(AuditEntry("card_unknown", self._clock(), actor, subject=subject))
            self.notice = Notice("unknown_card", self._clock())
            self._metrics.identifications.labels(outcome="unknown").inc()
            log.info("%s: a card not on the roster was presented; no session", actor)
            return "unknown"
        changes = self._book.start(subject)
        self._apply(changes, actor)
        outcome: Outcome = "continued" if changes[-1].kind == "continued" else "started"
        self._metrics.identifications.labels(outcome=outcome).inc()
        return outcome

    def logout(self, actor: str) -> bool:
        """End the open session; False when none was open."""
        changes = self._book.end("logout")
        self._apply(changes, actor)
        return any(change.kind == "ended" and change.session.end_reason == "logout" for change in changes)

    def expire(self) -> None:
        """End a session whose timeout has passed; the daemon calls this every second."""
        self._apply(self._book.expire(), EDGE_ACTOR)

    def restore(self) -> None:
        """Rebuild the book from the audit log at start-up, before any device is opened."""
        now = self._clock()
        ended: list[Session] = []
        for recorded in self._audit.sessions_since(now - SESSION_HISTORY):
            started = recorded.started_at
            expires_at = started + self._book.timeout
            if recorded.ended_at is None:
                end = max(started, min(now, expires_at))
                session = Session(recorded.session_id, recorded.subject, started, expires_at, end, "restart")
                self._record_end(session, EDGE_ACTOR)
            else:
                reason = _end_reason(recorded.end_reason)
                session = Session(
                    recorded.session_id, recorded.subject, started, expires_at, recorded.ended_at, reason
                )
            ended.append(session)
        self._book.restore(ended)
        if ended:
            log.info("restored %d kiosk sessions from the audit log", len(ended))

    def _apply(self, changes: list[Change], actor: str) -> None:
        for change in changes:
            session = change.session
            if change.kind == "started":
                self.notice = None
                self._write(
                    AuditEntry("session_started", session.started_at, actor, session.id, session.subject)
                )
                log.info("kiosk session %s started by %s", session.id, actor)
            elif change.kind == "ended":
                self._record_end(session, actor)
                self.notice = Notice(session.end_reason or "ended", session.end_at(self._clock()))

    def _record_end(self, session: Session, actor: str) -> None:
        reason = session.end_reason
        assert session.ended_at is not None
        assert reason is not None
        self._metrics.sessions_ended.labels(reason=reason).inc()
        entry = AuditEntry(
            "session_ended",
            session.ended_at,
            EDGE_ACTOR if reason in EDGE_REASONS else actor,
            session.id,
            session.subject,
            reason=reason,
        )
        self._write(entry)
        log.info("kiosk session %s ended (%s)", session.id, reason)

    def _write(self, entry: AuditEntry) -> None:
        """Session events are audited but never blocked by a failing disk: the kiosk keeps working."""
        try:
            self._audit.record(entry)
        except sqlite3.Error as exc:
            self._metrics.audit_failures.inc()
            log.error("audit log write failed for %s: %s", entry.event, exc)


def _end_reason(text: str | None) -> EndReason:
    """The reason as recorded; ``restart`` for anything this version does not know."""
    return cast(EndReason, text) if text in get_args(EndReason) else "restart"
