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

from cloud_bridge.points import epoch_ms

WEIGHT = "29463-7"


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
