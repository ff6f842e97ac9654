"""The residents' windows the engine keeps in memory between batches judge as the readings table
would: readings another connection stored, a batch that did not commit, a replayed reading older
than what is kept, and pruning."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from alerts_kit import ANNA, T0, make_alerts, reading

from careedge_common.epoch import epoch_ms
from cloud_bridge import alert_store
from cloud_bridge.history import Sample
from cloud_bridge.reading_windows import ReadingWindows
from cloud_bridge.store import BridgeStore

WEIGHT = "29463-7"
DAY_MS = 86_400_000
FAR = 2**62


def test_readings_another_bridge_stored_count_in_the_next_batch(tmp_path: Path) -> None:
    alerts = make_alerts(tmp_path, thresholds=[])
    alerts.feed(reading(ANNA, T0, weight=70.0))
    other = reading(ANNA, T0 + timedelta(hours=1), weight=68.0)
    with contextlib.closing(sqlite3.connect(tmp_path / "bridge.db", isolation_level=None)) as db:
        db.execute(
            "INSERT INTO readings (subject, code, measured_at_ms, reading_id, value) VALUES (?, ?, ?, ?, ?)",
            (ANNA, WEIGHT, epoch_ms(other.measured_at), other.id, 68.0),
        )
    alerts.feed(reading(ANNA, T0 + timedelta(hours=2), weight=70.5))
    [alert] = alerts.open()
    assert (alert.condition, alert.detail["gain_kg"]) == ("trend:weight_gain", 2.5)
    assert alert.detail["from_kg"] == 68.0
    alerts.close()


def test_a_batch_that_did_not_commit_is_not_remembered(tmp_path: Path) -> None:
    alerts = make_alerts(tmp_path, thresholds=[])
    alerts.feed(reading(ANNA, T0, weight=70.0))
    with alerts.store.transaction() as db:
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON devices_seen WHEN NEW.device = 'kiosk-broken'"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    with pytest.raises(sqlite3.IntegrityError):
        alerts.feed(reading(ANNA, T0 + timedelta(hours=1), device="kiosk-broken", weight=68.0))
    alerts.feed(reading(ANNA, T0 + timedelta(hours=2), weight=70.5))
    assert alerts.open() == [], "70 to 70.5 kg: the 68 kg reading was rolled back"
    alerts.close()


def test_a_replayed_reading_is_judged_by_readings_older_than_those_kept(tmp_path: Path) -> None:
    alerts = make_alerts(tmp_path, thresholds=[])
    alerts.feed(reading(ANNA, T0 - timedelta(days=2), weight=68.0))
    alerts.feed(reading(ANNA, T0 + timedelta(days=10), weight=69.0))
    replayed = reading(ANNA, T0 + timedelta(days=1), historical=True, weight=70.5)
    alerts.feed(replayed)
    [alert] = alerts.open()
    assert (alert.detail["gain_kg"], alert.detail["from_kg"], alert.historical) == (2.5, 68.0, True)
    alerts.close()


def test_pruned_readings_no_longer_count(tmp_path: Path) -> None:
    alerts = make_alerts(tmp_path, thresholds=[], rules={"readings_retention_days": 1})
    alerts.feed(reading(ANNA, T0, weight=68.0))
    alerts.clock.advance(days=1, hours=12)
    assert alerts.service.prune() == 1
    alerts.feed(reading(ANNA, T0 + timedelta(days=1), weight=70.5))
    assert alerts.open() == [], "the 68 kg reading was pruned"
    alerts.close()


def test_windows_hold_what_the_table_holds_whatever_the_order_of_arrival(tmp_path: Path) -> None:
    """Late, same-instant and repeated readings land where the table's order puts them."""
    store = BridgeStore(tmp_path / "bridge.db")
    windows = ReadingWindows(keep_ms=DAY_MS)
    first = reading(ANNA, T0, weight=70.0)
    arrivals = [
        [reading(ANNA, T0 + timedelta(hours=2), weight=71.0)],
        [reading(ANNA, T0 - timedelta(hours=1), weight=69.0), reading(ANNA, T0, weight=70.2)],
        [first, reading(ANNA, T0 + timedelta(hours=1), weight=70.5)],
    ]
    try:
        with store.transaction() as db:
            windows.begin(db)
            alert_store.insert_readings(db, [first])
            windows.add([first])
            assert windows.samples(ANNA, WEIGHT, 0, FAR) == [Sample(epoch_ms(T0), first.id, 70.0)]
            for batch in arrivals:
                alert_store.insert_readings(db, batch)
                windows.add(batch)
            stored = [Sample(*row) for row in alert_store.readings_since(db, ANNA, WEIGHT, 0)]
            assert len(stored) == 5
            assert windows.samples(ANNA, WEIGHT, 0, FAR) == stored
            assert windows.latest(ANNA, [WEIGHT], 0, epoch_ms(T0) + 1) == {WEIGHT: stored[2]}
    finally:
        store.close()
