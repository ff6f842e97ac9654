"""The relational store: processed IDs, one transaction per batch, pruning, a v1 store's upgrade."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alerts_kit import ANNA, T0, make_alerts, reading

from cloud_bridge.store import BridgeStore, mark_processed


def test_envelope_is_evaluated_once_even_from_a_second_bridge(tmp_path: Path) -> None:
    first, second = make_alerts(tmp_path), make_alerts(tmp_path)
    high = reading(ANNA, T0, systolic=185)
    first.feed(high)
    second.feed(high)
    assert len(first.all()) == 1
    assert [step for step, _ in first.transitions(first.all()[0].id)] == ["raised"]
    assert len(first.published) == 1
    assert second.published == []
    unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    assert first.store.unprocessed([high.id, unknown]) == {unknown}
    first.close()
    second.close()


def test_a_failed_transaction_commits_nothing(tmp_path: Path) -> None:
    store = BridgeStore(tmp_path / "s.db")
    envelope_id = "01ARZ3NDEKTSV4RRFFQ69G5FAA"

    def failing_batch() -> None:
        with store.transaction() as db:
            assert mark_processed(db, [envelope_id], T0) == {envelope_id}
            db.execute("SELECT * FROM no_such_table")

    with pytest.raises(sqlite3.OperationalError):
        failing_batch()
    assert store.unprocessed([envelope_id]) == {envelope_id}
    store.close()


def test_prune_forgets_only_old_ids(tmp_path: Path) -> None:
    store = BridgeStore(tmp_path / "s.db")
    now = datetime.now(UTC)
    old_id, new_id = "01ARZ3NDEKTSV4RRFFQ69G5FAA", "01ARZ3NDEKTSV4RRFFQ69G5FAB"
    with store.transaction() as db:
        mark_processed(db, [old_id], now - timedelta(days=9))
        mark_processed(db, [new_id], now)
    assert store.prune_processed(now - timedelta(days=8)) == 1
    assert store.unprocessed([old_id, new_id]) == {old_id}
    store.close()


def test_a_version_1_store_keeps_its_old_alerts_aside(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE alerts (id TEXT PRIMARY KEY, reading_id TEXT, code TEXT, document TEXT)")
        db.execute("INSERT INTO alerts VALUES ('a', 'r', '8480-6', '{}')")
    store = BridgeStore(path)
    with store.reading() as db:
        assert db.execute("SELECT count(*) FROM alerts_v1").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM alerts").fetchone() == (0,)
    store.close()
    BridgeStore(path).close()
