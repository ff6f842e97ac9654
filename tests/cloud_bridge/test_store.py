"""The relational store: processed IDs, alerts unique per reading and code, filters, pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cloud_bridge_kit import SYSTOLIC, THRESHOLDS, envelope

from careedge_common.config import Threshold
from careedge_common.envelope import Envelope
from cloud_bridge.alert import Alert
from cloud_bridge.rules import ThresholdRules
from cloud_bridge.store import BridgeStore

RULES = ThresholdRules([Threshold.model_validate(t) for t in THRESHOLDS])


def _alerts(value: float, subject: str, raised_at: datetime) -> tuple[str, list[Alert]]:
    parsed = Envelope.model_validate(envelope((SYSTOLIC, value), subject=subject))
    return parsed.id, RULES.evaluate(parsed, raised_at)


def test_alert_of_a_reading_is_stored_once_even_from_a_second_bridge(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    reading_id, alerts = _alerts(185, "res-1", now)
    first, second = BridgeStore(tmp_path / "s.db"), BridgeStore(tmp_path / "s.db")
    assert first.record([reading_id], alerts, now) == alerts
    redelivered = Envelope.model_validate(envelope((SYSTOLIC, 185), envelope_id=reading_id))
    assert second.record([reading_id], RULES.evaluate(redelivered, now), now) == []
    unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    assert first.unprocessed([reading_id, unknown]) == {unknown}
    assert len(first.alerts(limit=10)) == 1


def test_alert_filters_and_newest_first(tmp_path: Path) -> None:
    store = BridgeStore(tmp_path / "s.db")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for minute, (value, subject) in enumerate([(185, "res-1"), (150, "res-1"), (190, "res-2")]):
        reading_id, alerts = _alerts(value, subject, start + timedelta(minutes=minute))
        store.record([reading_id], alerts, start)
    assert [a.value for a in store.alerts(limit=10)] == [190, 150, 185]
    assert [a.value for a in store.alerts(severity="red", limit=10)] == [190, 185]
    assert [a.value for a in store.alerts(subject="res-1", limit=10)] == [150, 185]
    assert [a.value for a in store.alerts(since=start + timedelta(minutes=1), limit=10)] == [190, 150]
    assert [a.value for a in store.alerts(limit=1)] == [190]


def test_prune_forgets_only_old_ids(tmp_path: Path) -> None:
    store = BridgeStore(tmp_path / "s.db")
    now = datetime.now(UTC)
    old_id, new_id = "01ARZ3NDEKTSV4RRFFQ69G5FAA", "01ARZ3NDEKTSV4RRFFQ69G5FAB"
    store.record([old_id], [], now - timedelta(days=9))
    store.record([new_id], [], now)
    assert store.prune_processed(now - timedelta(days=8)) == 1
    assert store.unprocessed([old_id, new_id]) == {old_id}
