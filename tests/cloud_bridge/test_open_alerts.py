"""The open alerts the lifecycle keeps in memory between batches judge as the alerts table would:
alerts another bridge on the same store raised or resolved, a batch that did not commit, and
times finer than the stored millisecond."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alerts_kit import ANNA, T0, Alerts, make_alerts, reading

from cloud_bridge.events import GatewayState

SYSTOLIC = "threshold:8480-6"


@pytest.fixture
def bridges(tmp_path: Path) -> Iterator[tuple[Alerts, Alerts]]:
    """Two bridges on one store file, each with its own connection, engine and clock."""
    first, second = make_alerts(tmp_path), make_alerts(tmp_path)
    yield first, second
    first.close()
    second.close()


def test_an_alert_another_bridge_resolved_is_not_repeated(bridges: tuple[Alerts, Alerts]) -> None:
    first, second = bridges
    first.feed(reading(ANNA, T0, systolic=185))
    [resolved] = first.open()
    second.service.resolve(resolved.id, "nurse-1")
    again = reading(ANNA, T0 + timedelta(minutes=5), systolic=186)
    first.feed(again)
    [current] = first.open()
    assert current.id != resolved.id
    assert first.transitions(resolved.id) == [("raised", [resolved.reading_id]), ("resolved", [])]
    assert first.transitions(current.id) == [("raised", [again.id])]
    assert first.kinds_published() == [("raised", SYSTOLIC), ("raised", SYSTOLIC)]


def test_an_alert_another_bridge_raised_is_repeated_not_raised_again(bridges: tuple[Alerts, Alerts]) -> None:
    first, second = bridges
    first.feed(reading(ANNA, T0, systolic=120))
    raising = reading(ANNA, T0 + timedelta(minutes=1), systolic=185)
    second.feed(raising)
    repeating = reading(ANNA, T0 + timedelta(minutes=2), systolic=187)
    first.feed(repeating)
    [alert] = first.all()
    assert first.transitions(alert.id) == [("raised", [raising.id]), ("repeated", [repeating.id])]
    assert alert.reading_ids == [raising.id, repeating.id]
    assert first.kinds_published() == []


def test_an_alert_another_bridge_acknowledged_is_resolved_as_acknowledged(
    bridges: tuple[Alerts, Alerts],
) -> None:
    first, second = bridges
    first.feed(reading(ANNA, T0, systolic=185))
    [alert] = first.open()
    second.clock.advance(minutes=1)
    second.service.acknowledge(alert.id, "nurse-1")
    first.feed(reading(ANNA, T0 + timedelta(minutes=2), systolic=130))
    [resolved] = first.all()
    assert (resolved.state, resolved.acknowledged_by, resolved.acknowledged_at) == (
        "resolved",
        "nurse-1",
        T0 + timedelta(minutes=1),
    )


def test_an_alert_raised_in_a_batch_that_did_not_commit_is_raised_again(tmp_path: Path) -> None:
    alerts = make_alerts(tmp_path)
    with alerts.store.transaction() as db:
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON gateway_status WHEN NEW.gateway = 'gw-broken'"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    broken = GatewayState("gw-broken", True, (), ())
    with pytest.raises(sqlite3.IntegrityError):
        alerts.service.commit_batch([reading(ANNA, T0, systolic=185)], [broken], alerts.clock())
    assert alerts.all() == []
    raising = reading(ANNA, T0 + timedelta(minutes=1), systolic=186)
    alerts.feed(raising)
    [alert] = alerts.open()
    assert alerts.transitions(alert.id) == [("raised", [raising.id])]
    assert alerts.kinds_published() == [("raised", SYSTOLIC)]
    alerts.close()


def test_a_clear_reading_within_the_raising_millisecond_resolves_as_the_table_says(tmp_path: Path) -> None:
    """The stored document keeps the raising reading's time to the millisecond, so a clear
    reading 0.2 ms after that millisecond began, though before the raising reading, is not older."""
    alerts = make_alerts(tmp_path)
    raising = reading(ANNA, T0, systolic=185).model_copy(
        update={"measured_at": T0 + timedelta(microseconds=456)}
    )
    alerts.feed(raising)
    clearing = reading(ANNA, T0, systolic=130).model_copy(
        update={"measured_at": T0 + timedelta(microseconds=200)}
    )
    alerts.feed(clearing)
    [alert] = alerts.all()
    assert alerts.transitions(alert.id) == [("raised", [raising.id]), ("resolved", [clearing.id])]
    alerts.close()


def test_an_alert_raised_in_a_tick_that_did_not_commit_is_raised_again(tmp_path: Path) -> None:
    alerts = make_alerts(tmp_path, {"offline": {"grace_s": 60}})
    alerts.state("gw-1", online=False)
    alerts.state("gw-2", online=False)
    with alerts.store.transaction() as db:
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON alerts WHEN NEW.scope = 'gateway/gw-2'"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    alerts.clock.advance(minutes=2)
    with pytest.raises(sqlite3.IntegrityError):
        alerts.service.tick()
    assert alerts.all() == []
    with alerts.store.transaction() as db:
        db.execute("DROP TRIGGER refuse")
    alerts.service.tick()
    assert sorted(alerts.kinds_published()) == [("raised", "offline"), ("raised", "offline")]
    for alert in alerts.open():
        assert [kind for kind, _ in alerts.transitions(alert.id)] == ["raised"]
    alerts.close()
