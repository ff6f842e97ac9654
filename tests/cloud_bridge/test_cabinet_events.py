"""Cabinet events at the bridge: validated against their topic, stored once in the relational
store, listed newest first, and never turned into time-series points."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cloud_bridge_kit import GATEWAY, SITE, SYSTOLIC, envelope, vitals_topic

from careedge_common import topics
from cloud_bridge import cabinet_events
from cloud_bridge.points import points_of
from cloud_bridge.store import BridgeStore
from cloud_bridge.validation import EnvelopeError, validate_envelope

CABINET = "cab-1"
TOPIC = topics.cabinet_event(SITE, GATEWAY, CABINET)


def _event(event: str = "dispensed", **overrides: Any) -> dict[str, Any]:
    document = envelope(subject="s-" + "a" * 32, **overrides)
    document.update({"type": "cabinet_event", "device": CABINET, "obs": []})
    document.setdefault("data", {"event": event, "slot": 3})
    document.update(overrides)
    return document


def _payload(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def test_cabinet_event_on_its_topic_is_accepted_and_has_no_points() -> None:
    parsed = validate_envelope(TOPIC, _payload(_event()), SITE)
    assert parsed.type == "cabinet_event"
    assert parsed.data == {"event": "dispensed", "slot": 3}
    assert points_of(parsed) == []


def test_observations_still_go_through_the_vitals_checks() -> None:
    parsed = validate_envelope(vitals_topic(), _payload(envelope((SYSTOLIC, 120))), SITE)
    assert parsed.type == "observation"


@pytest.mark.parametrize(
    ("document", "topic", "reason", "position"),
    [
        (_event(), topics.cabinet_event(SITE, GATEWAY, "cab-2"), "topic_mismatch", "gateway/device"),
        (_event(type="observation"), TOPIC, "wrong_type", "type"),
        (_event(site="elsewhere"), TOPIC, "wrong_site", "site"),
        (_event(), vitals_topic(device=CABINET), "wrong_type", "type"),
    ],
)
def test_cabinet_event_rejections(document: dict[str, Any], topic: str, reason: str, position: str) -> None:
    with pytest.raises(EnvelopeError) as caught:
        validate_envelope(topic, _payload(document), SITE)
    assert (caught.value.reason, caught.value.position) == (reason, position)


def test_stored_once_however_often_delivered(tmp_path: Path) -> None:
    store = BridgeStore(tmp_path / "bridge.db")
    try:
        first = validate_envelope(TOPIC, _payload(_event("missed")), SITE)
        second = validate_envelope(TOPIC, _payload(_event("refill")), SITE)
        reading = validate_envelope(vitals_topic(), _payload(envelope((SYSTOLIC, 120))), SITE)
        with store.transaction() as db:
            cabinet_events.record(db, [first, reading])
        with store.transaction() as db:
            cabinet_events.record(db, [first, second])
        with store.reading() as db:
            listed = cabinet_events.newest(db, 10)
    finally:
        store.close()
    assert sorted(event.id for event in listed) == sorted([first.id, second.id])
    assert {event.data["event"] for event in listed if event.data} == {"missed", "refill"}
