"""Sessions as residents see them, audited in a real edge database, and rebuilt after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from edge.audit import AuditLog
from edge.kiosk_metrics import KioskMetrics
from edge.kiosk_sessions import SessionService
from edge.residents import Roster
from edge.sessions import SessionBook

T0 = datetime(2025, 3, 14, 1, 0, tzinfo=UTC)
TIMEOUT = timedelta(seconds=180)
A, B, STRANGER = "s-" + "a" * 32, "s-" + "b" * 32, "s-" + "c" * 32
ROSTER = Roster({A: "王秀英", B: "李建国"})
READER = "reader:reader-1"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _service(db: Path, clock: Clock) -> tuple[SessionService, SessionBook, AuditLog]:
    audit = AuditLog(db)
    book = SessionBook(TIMEOUT, clock)
    return SessionService(book, ROSTER, audit, KioskMetrics(CollectorRegistry()), clock), book, audit


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_unknown_card_starts_nothing_and_ends_the_open_session(tmp_path: Path, clock: Clock) -> None:
    service, book, audit = _service(tmp_path / "edge.db", clock)
    assert service.identified(A, READER) == "started"
    session = service.current()
    assert session is not None
    assert service.display_name(session) == "王秀英"
    clock.now += timedelta(seconds=20)
    assert service.identified(STRANGER, READER) == "unknown"
    assert service.current() is None
    assert service.notice is not None
    assert service.notice.kind == "unknown_card"
    clock.now += timedelta(seconds=1)
    assert book.bind(clock.now).unbound == "no_session", "a reading after the stranger's card is not A's"
    entries = audit.entries(10)
    assert [(e.event, e.actor, e.subject, e.reason) for e in entries] == [
        ("card_unknown", READER, STRANGER, None),
        ("session_ended", READER, A, "unknown_card"),
        ("session_started", READER, A, None),
    ]
    assert entries[1].at == T0 + timedelta(seconds=20)


def test_same_card_continues_and_another_replaces(tmp_path: Path, clock: Clock) -> None:
    service, _book, audit = _service(tmp_path / "edge.db", clock)
    service.identified(A, READER)
    clock.now += timedelta(seconds=5)
    assert service.identified(A, READER) == "continued"
    clock.now += timedelta(seconds=5)
    assert service.identified(B, "kiosk-page") == "started"
    assert service.notice is None
    assert [(e.event, e.subject, e.reason) for e in audit.entries(10)] == [
        ("session_started", B, None),
        ("session_ended", A, "replaced"),
        ("session_started", A, None),
    ]


def test_logout_and_timeout_are_audited_with_their_actor(tmp_path: Path, clock: Clock) -> None:
    service, _book, audit = _service(tmp_path / "edge.db", clock)
    assert not service.logout("kiosk-page")
    service.identified(A, READER)
    assert service.logout("kiosk-page")
    service.identified(B, READER)
    clock.now += TIMEOUT + timedelta(seconds=3)
    service.expire()
    service.expire()
    ended = [(e.actor, e.subject, e.reason, e.at) for e in audit.entries(10) if e.event == "session_ended"]
    assert ended == [("edge", B, "timeout", T0 + TIMEOUT), ("kiosk-page", A, "logout", T0)]
    assert service.notice is not None
    assert service.notice.kind == "timeout"


def test_restart_rebuilds_sessions_and_closes_the_one_left_open(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "edge.db"
    before, _book, audit = _service(db, clock)
    before.identified(A, READER)
    clock.now += timedelta(seconds=40)
    before.identified(B, READER)
    audit.close()
    clock.now += timedelta(seconds=60)

    after, book, audit = _service(db, clock)
    after.restore()

    assert after.current() is None
    assert book.bind(T0 + timedelta(seconds=20)).subject == A
    assert book.bind(T0 + timedelta(seconds=80)).subject == B
    restart_end = audit.entries(1)[0]
    assert (restart_end.event, restart_end.actor, restart_end.subject, restart_end.reason) == (
        "session_ended",
        "edge",
        B,
        "restart",
    )
    assert restart_end.at == clock.now, "ended when the edge came back, within the timeout"
    clock.now += timedelta(seconds=1)
    assert book.bind(clock.now).unbound == "no_session"
    again, book, _audit = _service(db, clock)
    again.restore()
    assert book.bind(T0 + timedelta(seconds=80)).subject == B
    assert len([e for e in _audit.entries(20) if e.reason == "restart"]) == 1, "a second restart adds nothing"
