"""Who was measuring at the kiosk when: sessions, and the one a reading belongs to by its device time.

Pure logic with an injected clock (aware UTC datetimes); storage and audit belong to the caller,
which gets every change back from the call that caused it.

Rules:
- One session is open at a time. It ends on logout, ``timeout`` after its last activity (its
  start, or a reading bound to it: ``touch``), or when another resident starts one (``replaced``),
  or an unknown card is presented (``unknown_card``: someone else is at the kiosk now). The same
  resident presenting their card again continues their session.
- A reading without a subject belongs to the session whose ``[started_at, ended_at]`` (or
  ``[started_at, now]`` while open) holds its *measurement* time, not its arrival time, so a cuff
  whose indication arrives after the next resident has started still lands on the right person.
  It is bound only when exactly one session holds that time. None (nobody logged in, the device
  clock is off, or the time is older than the kept history) or two (a reading measured at the
  very moment one session gave way to the next) leaves it unbound, for staff: never a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from careedge_common.envelope import new_event_id

SESSION_HISTORY = timedelta(days=7)
"""Ended sessions kept for binding late readings; as long as the outbox's default replay window."""

EndReason = Literal["logout", "timeout", "replaced", "unknown_card", "restart"]
UnboundReason = Literal["no_session", "ambiguous", "future_time", "not_session_bound"]
"""``not_session_bound``: the device named nobody and is not one residents use at the kiosk station
(a point-of-care analyzer), so whoever holds the kiosk session is not evidence of who was measured."""
ChangeKind = Literal["started", "continued", "ended"]


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    subject: str
    started_at: datetime
    expires_at: datetime
    """When it times out unless touched; for an ended session, when it would have."""
    ended_at: datetime | None = None
    end_reason: EndReason | None = None

    def end_at(self, now: datetime) -> datetime:
        """The end of the interval it covers as seen at ``now``: its end, its timeout, or now."""
        if self.ended_at is not None:
            return self.ended_at
        return min(now, self.expires_at)

    def covers(self, moment: datetime, now: datetime) -> bool:
        return self.started_at <= moment <= self.end_at(now)


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    session: Session


@dataclass(frozen=True, slots=True)
class Binding:
    """``subject`` and ``session`` are set together; ``unbound`` says why when they are not."""

    subject: str | None
    session: Session | None
    unbound: UnboundReason | None


class SessionBook:
    def __init__(
        self,
        timeout: timedelta,
        clock: Callable[[], datetime],
        *,
        history: timedelta = SESSION_HISTORY,
        new_id: Callable[[], str] = new_event_id,
    ) -> None:
        if timeout <= timedelta(0):
            raise ValueError("session timeout must be positive")
        self._timeout = timeout
        self._clock = clock
        self._history = history
        self._new_id = new_id
        self._ended: list[Session] = []
        self._open: Session | None = None

    @property
    def timeout(self) -> timedelta:
        return self._timeout

    def current(self) -> Session | None:
        """The open session, or None; one past its timeout counts as ended even before ``expire``."""
        now = self._clock()
        if self._open is None or now >= self._open.expires_at:
            return None
        return self._open

    def start(self, subject: str) -> list[Change]:
        """A resident identified themselves; returns what changed (oldest first)."""
        now = self._clock()
        changes = self._expire(now)
        if self._open is not None and self._open.subject == subject:
            self._open = replace(self._open, expires_at=now + self._timeout)
            return [*changes, Change("continued", self._open)]
        if self._open is not None:
            changes.append(self._end(now, "replaced"))
        self._open = Session(self._new_id(), subject, now, now + self._timeout)
        return [*changes, Change("started", self._open)]

    def end(self, reason: EndReason) -> list[Change]:
        """End the open session now (``logout``, ``unknown_card``); nothing when none is open."""
        now = self._clock()
        changes = self._expire(now)
        if self._open is not None:
            changes.append(self._end(now, reason))
        return changes

    def expire(self) -> list[Change]:
        """End the open session if its timeout has passed (ended at its deadline, not now)."""
        return self._expire(self._clock())

    def touch(self, session_id: str) -> bool:
        """Activity in the open session (a reading bound to it): push its timeout back."""
        now = self._clock()
        if self._open is None or self._open.id != session_id or now >= self._open.expires_at:
            return False
        self._open = replace(self._open, expires_at=now + self._timeout)
        return True

    def bind(self, measured_at: datetime) -> Binding:
        """The subject of a reading measured at ``measured_at`` (aware), per the rules above."""
        now = self._clock()
        if measured_at > now:
            return Binding(None, None, "future_time")
        if measured_at < now - self._history:
            return Binding(None, None, "no_session")
        sessions = [*self._ended, *([self._open] if self._open is not None else [])]
        holding = [session for session in sessions if session.covers(measured_at, now)]
        if len(holding) == 1:
            return Binding(holding[0].subject, holding[0], None)
        return Binding(None, None, "ambiguous" if holding else "no_session")

    def restore(self, sessions: Iterable[Session]) -> None:
        """Load ended sessions recorded before a restart, so late readings still find them."""
        now = self._clock()
        for session in sessions:
            if session.ended_at is None:
                raise ValueError("only ended sessions can be restored; end open ones first")
            self._ended.append(session)
        self._ended.sort(key=lambda session: session.started_at)
        self._prune(now)

    def _expire(self, now: datetime) -> list[Change]:
        self._prune(now)
        if self._open is None or now < self._open.expires_at:
            return []
        return [self._end(self._open.expires_at, "timeout")]

    def _end(self, at: datetime, reason: EndReason) -> Change:
        assert self._open is not None
        ended = replace(self._open, ended_at=max(at, self._open.started_at), end_reason=reason)
        self._open = None
        self._ended.append(ended)
        self._prune(at)
        return Change("ended", ended)

    def _prune(self, now: datetime) -> None:
        horizon = now - self._history
        self._ended = [session for session in self._ended if session.end_at(now) >= horizon]
