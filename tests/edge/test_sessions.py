"""Session binding rules on an injected clock: boundaries, timeout, logout, replacement, clock steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from edge.sessions import SessionBook

T0 = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
TIMEOUT = timedelta(seconds=180)
TICK = timedelta(microseconds=1)
A, B = "s-" + "a" * 32, "s-" + "b" * 32


class Clock:
    """The book's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def book(clock: Clock) -> SessionBook:
    ids = count(1)
    return SessionBook(TIMEOUT, clock, new_id=lambda: f"session-{next(ids)}")


def test_no_session_leaves_reading_unbound(book: SessionBook) -> None:
    binding = book.bind(T0)
    assert (binding.subject, binding.session, binding.unbound) == (None, None, "no_session")


def test_open_session_covers_its_start_up_to_now(book: SessionBook, clock: Clock) -> None:
    (change,) = book.start(A)
    assert change.kind == "started"
    clock.advance(60)
    assert book.bind(T0).subject == A
    assert book.bind(clock.now).subject == A
    assert book.bind(T0 - TICK).unbound == "no_session"
    assert book.bind(T0).session == change.session


def test_reading_from_the_future_is_unbound_even_with_a_session_open(book: SessionBook, clock: Clock) -> None:
    book.start(A)
    clock.advance(10)
    assert book.bind(clock.now + TICK).unbound == "future_time"


def test_logout_ends_at_logout_and_late_reading_still_binds(book: SessionBook, clock: Clock) -> None:
    book.start(A)
    logout_at = clock.advance(90)
    (ended,) = book.end("logout")
    assert ended.kind == "ended"
    assert (ended.session.ended_at, ended.session.end_reason) == (logout_at, "logout")
    clock.advance(300)
    assert book.current() is None
    assert book.bind(logout_at - timedelta(seconds=1)).subject == A
    assert book.bind(logout_at).subject == A
    assert book.bind(logout_at + TICK).unbound == "no_session"


def test_replacement_splits_time_between_residents_and_the_instant_between_is_ambiguous(
    book: SessionBook, clock: Clock
) -> None:
    book.start(A)
    b_start = clock.advance(120)
    changes = book.start(B)
    assert [c.kind for c in changes] == ["ended", "started"]
    assert changes[0].session.subject == A
    assert changes[0].session.end_reason == "replaced"
    assert changes[0].session.ended_at == b_start
    clock.advance(30)
    assert book.bind(b_start - TICK).subject == A
    assert book.bind(b_start + TICK).subject == B
    at_changeover = book.bind(b_start)
    assert (at_changeover.subject, at_changeover.unbound) == (None, "ambiguous")


def test_late_indication_lands_on_the_resident_who_measured(book: SessionBook, clock: Clock) -> None:
    """A's cuff measured at +100 s; its indication arrives at +200 s, after B started at +150 s."""
    book.start(A)
    measured = clock.advance(100)
    clock.advance(50)
    book.start(B)
    clock.advance(50)
    assert book.bind(measured).subject == A
    assert book.bind(clock.now).subject == B


def test_timeout_ends_session_at_its_deadline_even_before_expire_runs(
    book: SessionBook, clock: Clock
) -> None:
    book.start(A)
    deadline = T0 + TIMEOUT
    clock.now = deadline - TICK
    assert book.current() is not None
    assert book.expire() == []
    clock.now = deadline + timedelta(seconds=5)
    assert book.current() is None
    assert book.bind(deadline).subject == A
    assert book.bind(deadline + TICK).unbound == "no_session"
    (ended,) = book.expire()
    assert (ended.session.ended_at, ended.session.end_reason) == (deadline, "timeout")
    assert book.expire() == []
    assert book.bind(deadline).subject == A


def test_touch_pushes_the_timeout_back(book: SessionBook, clock: Clock) -> None:
    (started,) = book.start(A)
    clock.advance(100)
    assert book.touch(started.session.id)
    clock.advance(179)
    assert book.current() is not None
    assert book.expire() == []
    clock.advance(2)
    (ended,) = book.expire()
    assert ended.session.ended_at == T0 + timedelta(seconds=100) + TIMEOUT


def test_touch_refuses_another_or_an_ended_session(book: SessionBook, clock: Clock) -> None:
    (started,) = book.start(A)
    assert not book.touch("another")
    clock.advance(181)
    assert not book.touch(started.session.id)
    assert book.current() is None


def test_same_resident_again_continues_the_session(book: SessionBook, clock: Clock) -> None:
    (started,) = book.start(A)
    clock.advance(170)
    (continued,) = book.start(A)
    assert continued.kind == "continued"
    assert continued.session.id == started.session.id
    assert continued.session.expires_at == clock.now + TIMEOUT
    clock.advance(100)
    assert book.current() == continued.session


def test_same_resident_after_timeout_starts_a_new_session(book: SessionBook, clock: Clock) -> None:
    (first,) = book.start(A)
    clock.advance(200)
    ended, started = book.start(A)
    assert (ended.kind, ended.session.end_reason, ended.session.id) == ("ended", "timeout", first.session.id)
    assert started.kind == "started"
    assert started.session.id != first.session.id
    assert book.bind(T0 + timedelta(seconds=190)).unbound == "no_session"


def test_end_for_unknown_card_and_end_without_session(book: SessionBook, clock: Clock) -> None:
    assert book.end("logout") == []
    book.start(A)
    clock.advance(5)
    (ended,) = book.end("unknown_card")
    assert ended.session.end_reason == "unknown_card"
    assert book.current() is None


def test_two_starts_at_the_same_instant_leave_that_instant_ambiguous(book: SessionBook, clock: Clock) -> None:
    book.start(A)
    book.start(B)
    clock.advance(10)
    assert book.bind(T0).unbound == "ambiguous"
    assert book.bind(T0 + TICK).subject == B


def test_clock_stepped_back_overlap_is_ambiguous_never_guessed(book: SessionBook, clock: Clock) -> None:
    book.start(A)
    clock.now = T0 - timedelta(seconds=10)
    ended, _started = book.start(B)
    assert ended.session.ended_at == T0, "an end never precedes its start"
    clock.now = T0 + timedelta(seconds=10)
    assert book.bind(T0).unbound == "ambiguous"
    assert book.bind(T0 - timedelta(seconds=5)).subject == B
    assert book.bind(T0 + timedelta(seconds=5)).subject == B


def test_history_older_than_the_window_is_forgotten(clock: Clock) -> None:
    book = SessionBook(TIMEOUT, clock, history=timedelta(hours=1))
    book.start(A)
    clock.advance(60)
    book.end("logout")
    assert book.bind(T0 + timedelta(seconds=30)).subject == A
    clock.advance(3600)
    book.start(B)
    assert book.bind(T0 + timedelta(seconds=30)).unbound == "no_session"


def test_restore_takes_ended_sessions_only(book: SessionBook, clock: Clock) -> None:
    other = SessionBook(TIMEOUT, clock)
    other.start(A)
    clock.advance(30)
    (ended,) = other.end("logout")
    book.restore([ended.session])
    assert book.bind(T0 + timedelta(seconds=10)).subject == A
    (started,) = other.start(B)
    with pytest.raises(ValueError, match="only ended sessions"):
        book.restore([started.session])


def test_timeout_must_be_positive(clock: Clock) -> None:
    with pytest.raises(ValueError, match="positive"):
        SessionBook(timedelta(0), clock)
