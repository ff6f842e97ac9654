"""Temperature excursions from a series of readings: start, peak, end, duration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edge.excursions import ExcursionTracker

T0 = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
LOW, HIGH = 2.0, 8.0


def _feed(
    tracker: ExcursionTracker, values: list[float], compartment: str = "fridge"
) -> list[tuple[str, object]]:
    changes = []
    for minute, value in enumerate(values):
        change = tracker.observe(compartment, T0 + timedelta(minutes=minute), value, LOW, HIGH)
        if change is not None:
            changes.append((change.phase, change.excursion))
    return changes


def test_warm_excursion_has_start_peak_end_and_duration() -> None:
    tracker = ExcursionTracker()
    changes = _feed(tracker, [5.0, 7.9, 8.4, 11.2, 9.6, 8.1, 7.5, 5.0])
    assert [phase for phase, _ in changes] == ["started", "ended"]
    ended = changes[1][1]
    assert ended.facts() == {
        "compartment": "fridge",
        "direction": "above",
        "limit_c": HIGH,
        "started_at": (T0 + timedelta(minutes=2)).isoformat(),
        "ended_at": (T0 + timedelta(minutes=6)).isoformat(),
        "peak_c": 11.2,
        "peak_at": (T0 + timedelta(minutes=3)).isoformat(),
        "duration_s": 240.0,
    }
    assert tracker.open == {}


def test_cold_excursion_peaks_at_its_coldest() -> None:
    changes = _feed(ExcursionTracker(), [3.0, 1.5, -0.5, 0.4, 2.5])
    started, ended = changes[0][1], changes[1][1]
    assert (started.direction, started.limit_c, started.peak_c) == ("below", LOW, 1.5)
    assert (ended.peak_c, ended.duration_s) == (-0.5, 180.0)


def test_dithering_on_the_limit_is_one_excursion() -> None:
    changes = _feed(ExcursionTracker(hysteresis_c=0.2), [8.1, 7.95, 8.05, 7.9, 8.2, 7.7])
    assert [phase for phase, _ in changes] == ["started", "ended"]
    assert changes[1][1].duration_s == 300.0


def test_broken_probe_reading_neither_starts_nor_ends_nor_peaks() -> None:
    tracker = ExcursionTracker()
    assert _feed(tracker, [5.0, 3276.7, 5.0]) == []
    changes = _feed(tracker, [9.0, 3276.7, -3276.8, 5.0])
    assert [phase for phase, _ in changes] == ["started", "ended"]
    assert changes[1][1].peak_c == 9.0


def test_compartments_are_tracked_apart_and_an_open_one_survives_a_restart() -> None:
    tracker = ExcursionTracker()
    _feed(tracker, [9.0], "fridge")
    assert _feed(tracker, [5.0], "ambient") == [], "a reading of another compartment ends nothing"
    assert set(tracker.open) == {"fridge"}
    restarted = ExcursionTracker(open_excursions=dict(tracker.open))
    changes = _feed(restarted, [10.0, 4.0], "fridge")
    assert [phase for phase, _ in changes] == ["ended"]
    assert changes[0][1].started_at == T0
    assert changes[0][1].peak_c == 10.0
