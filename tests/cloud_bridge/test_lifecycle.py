"""The alert lifecycle on a real store with a test clock: de-duplication, worsening, hysteresis,
acknowledgement, resolution by hand, escalation timing and per-resident overrides."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alerts_kit import ANNA, BORIS, T0, Alerts, make_alerts, reading

from cloud_bridge.alert_store import AlertClosed, AlertNotFound


@pytest.fixture
def alerts(tmp_path: Path) -> Iterator[Alerts]:
    service = make_alerts(tmp_path)
    yield service
    service.close()


def test_repeated_breaches_keep_one_alert_and_store_every_reading(alerts: Alerts) -> None:
    first, second, third = (reading(ANNA, T0 + timedelta(minutes=i), systolic=185 + i) for i in range(3))
    alerts.feed(first)
    alerts.feed(second, third)
    [alert] = alerts.open()
    assert (alert.severity, alert.condition, alert.value, alert.limit) == (
        "red",
        "threshold:8480-6",
        185,
        180,
    )
    assert alert.reading_ids == [first.id, second.id, third.id]
    assert alert.measured_at == third.measured_at
    assert alerts.transitions(alert.id) == [
        ("raised", [first.id]),
        ("repeated", [second.id]),
        ("repeated", [third.id]),
    ]
    assert alerts.kinds_published() == [("raised", "threshold:8480-6")]


def test_yellow_turning_red_worsens_the_same_alert(alerts: Alerts) -> None:
    yellow, red = reading(ANNA, T0, systolic=150), reading(ANNA, T0 + timedelta(minutes=5), systolic=190)
    alerts.feed(yellow)
    alerts.feed(red)
    [alert] = alerts.all()
    assert (alert.severity, alert.value, alert.limit, alert.transition) == ("red", 190, 180, "worsened")
    assert alerts.kinds_published() == [("raised", "threshold:8480-6"), ("worsened", "threshold:8480-6")]
    alerts.feed(reading(ANNA, T0 + timedelta(minutes=9), systolic=150))
    assert alerts.open()[0].severity == "red"


def test_resolves_itself_only_past_the_hysteresis_margin(alerts: Alerts) -> None:
    alerts.feed(reading(ANNA, T0, systolic=185))
    alerts.feed(reading(ANNA, T0 + timedelta(minutes=1), systolic=140))
    alerts.feed(reading(ANNA, T0 + timedelta(minutes=2), systolic=136))
    [alert] = alerts.open()
    assert [kind for kind, _ in alerts.transitions(alert.id)] == ["raised"], "within the margin: no step"
    clearing = reading(ANNA, T0 + timedelta(minutes=3), systolic=135)
    alerts.feed(clearing)
    assert alerts.open() == []
    [resolved] = alerts.all()
    assert (resolved.state, resolved.resolved_by, resolved.resolved_at) == ("resolved", "auto", T0)
    assert alerts.transitions(alert.id)[-1] == ("resolved", [clearing.id])
    alerts.feed(reading(ANNA, T0 + timedelta(minutes=4), systolic=150))
    assert [a.id for a in alerts.open()] != [alert.id]
    assert len(alerts.all()) == 2


def test_raised_and_cleared_within_one_batch(alerts: Alerts) -> None:
    alerts.feed(reading(ANNA, T0, systolic=185), reading(ANNA, T0 + timedelta(seconds=30), systolic=120))
    [alert] = alerts.all()
    assert [kind for kind, _ in alerts.transitions(alert.id)] == ["raised", "resolved"]


def test_low_side_hysteresis_and_unbound_readings_never_clear(alerts: Alerts) -> None:
    alerts.feed(reading(ANNA, T0, systolic=85))
    alerts.feed(reading(ANNA, T0 + timedelta(minutes=1), systolic=104))
    assert alerts.open()
    alerts.feed(reading(ANNA, T0 + timedelta(minutes=2), systolic=105))
    assert not alerts.open()
    unbound = reading(None, T0, systolic=190)
    alerts.feed(unbound, reading(None, T0 + timedelta(minutes=1), systolic=120))
    [alert] = alerts.open()
    assert (alert.scope, alert.subject) == (f"reading/{unbound.id}", None)


def test_a_reading_assigned_to_a_resident_moves_its_alert_to_them(alerts: Alerts) -> None:
    unbound = reading(None, T0, systolic=190)
    alerts.feed(unbound)
    corrected = reading(ANNA, T0, historical=True, systolic=190).model_copy(update={"supersedes": unbound.id})
    alerts.feed(corrected)
    [alert] = alerts.open()
    assert (alert.subject, alert.historical, alert.reading_id) == (ANNA, True, corrected.id)
    [closed] = alerts.all(scope=f"reading/{unbound.id}")
    assert (closed.state, alerts.transitions(closed.id)[-1]) == ("resolved", ("resolved", [corrected.id]))


def test_a_replayed_older_normal_reading_does_not_resolve(alerts: Alerts) -> None:
    alerts.feed(reading(ANNA, T0, systolic=185))
    alerts.feed(reading(ANNA, T0 - timedelta(hours=2), historical=True, systolic=120))
    assert alerts.open()


def test_acknowledge_then_resolve_by_hand_records_who_and_when(alerts: Alerts) -> None:
    alerts.feed(reading(ANNA, T0, systolic=185))
    [alert] = alerts.open()
    alerts.clock.advance(minutes=3)
    acknowledged = alerts.service.acknowledge(alert.id, "nurse.li")
    assert (acknowledged.state, acknowledged.acknowledged_by) == ("acknowledged", "nurse.li")
    assert acknowledged.acknowledged_at == T0 + timedelta(minutes=3)
    assert alerts.service.acknowledge(alert.id, "nurse.wang").acknowledged_by == "nurse.li"
    alerts.clock.advance(minutes=2)
    resolved = alerts.service.resolve(alert.id, "dr.zhao")
    assert (resolved.state, resolved.resolved_by, resolved.resolved_at) == (
        "resolved",
        "dr.zhao",
        T0 + timedelta(minutes=5),
    )
    with pytest.raises(AlertClosed):
        alerts.service.acknowledge(alert.id, "nurse.li")
    with pytest.raises(AlertClosed):
        alerts.service.resolve(alert.id, "nurse.li")
    with pytest.raises(AlertNotFound):
        alerts.service.resolve("01ARZ3NDEKTSV4RRFFQ69G5FAV", "nurse.li")
    assert [kind for kind, _ in alerts.transitions(alert.id)] == ["raised", "acknowledged", "resolved"]
    assert [kind for kind, _ in alerts.kinds_published()] == ["raised", "acknowledged", "resolved"]


def test_a_resident_override_replaces_the_site_band_for_that_code(tmp_path: Path) -> None:
    rules = {
        "residents": {
            ANNA: {"thresholds": [{"code": "8480-6", "yellow_above": 160, "red_above": 200}]},
        }
    }
    alerts = make_alerts(tmp_path, rules)
    alerts.feed(reading(ANNA, T0, systolic=185), reading(BORIS, T0, systolic=185))
    by_subject = {alert.subject: (alert.severity, alert.limit) for alert in alerts.open()}
    assert by_subject == {ANNA: ("yellow", 160), BORIS: ("red", 180)}
    alerts.feed(reading(ANNA, T0 + timedelta(minutes=1), systolic=95))
    assert {alert.subject for alert in alerts.open()} == {BORIS}, "Anna's own band has no lower limit"
    alerts.close()


def test_glucose_bands_by_default_and_hyper_when_configured(tmp_path: Path) -> None:
    alerts = make_alerts(tmp_path, {"glucose": {"hyper_above": 13.9, "severe_hyper_above": 20}})
    alerts.feed(reading(ANNA, T0, glucose=3.9), reading(BORIS, T0, glucose=3.8))
    [hypo] = alerts.open()
    assert (hypo.subject, hypo.category, hypo.severity) == (BORIS, "glucose", "yellow")
    assert hypo.title.startswith("Hypoglycaemia")
    alerts.feed(reading(BORIS, T0 + timedelta(minutes=1), glucose=2.9))
    assert alerts.open()[0].title.startswith("Severe hypoglycaemia")
    alerts.feed(reading(ANNA, T0 + timedelta(minutes=1), glucose=14.0))
    anna = alerts.open(subject=ANNA)[0]
    assert (anna.severity, anna.title.split(":")[0]) == ("yellow", "Hyperglycaemia")
    alerts.close()


ROUTES = [
    {
        "id": "nurses",
        "role": "nurse_station",
        "url": "http://127.0.0.1:9/n",
        "secret_file": "/nonexistent",
        "escalate_to": "doctor",
    },
    {
        "id": "doctor",
        "role": "family_doctor",
        "url": "http://127.0.0.1:9/d",
        "secret_file": "/nonexistent",
        "escalation_only": True,
        "colours": ["red"],
    },
]


def test_red_unacknowledged_escalates_after_the_configured_time_then_stops(tmp_path: Path) -> None:
    alerts = make_alerts(tmp_path, {"routes": ROUTES, "escalation_minutes": 10})
    alerts.feed(reading(ANNA, T0, systolic=190), reading(BORIS, T0, systolic=150))
    red = alerts.open(severity="red")[0]
    assert red.routes == ["nurses"]
    alerts.clock.advance(minutes=9, seconds=59)
    alerts.service.tick()
    assert alerts.kinds_published() == [("raised", "threshold:8480-6")] * 2
    alerts.clock.advance(seconds=1)
    alerts.service.tick()
    escalated = alerts.service.alert(red.id)[0]
    assert (escalated.transition, escalated.escalation_level, escalated.routes) == (
        "escalated",
        1,
        ["nurses", "doctor"],
    )
    alerts.clock.advance(minutes=30)
    alerts.service.tick()
    assert [kind for kind, _ in alerts.transitions(red.id)] == ["raised", "escalated"]
    yellow = alerts.open(severity="yellow")[0]
    assert [kind for kind, _ in alerts.transitions(yellow.id)] == ["raised"]
    alerts.close()


def test_acknowledged_in_time_never_escalates_and_worsening_restarts_the_wait(tmp_path: Path) -> None:
    alerts = make_alerts(tmp_path, {"routes": ROUTES, "escalation_minutes": 10})
    alerts.feed(reading(ANNA, T0, systolic=190))
    alert = alerts.open()[0]
    alerts.clock.advance(minutes=9)
    alerts.service.acknowledge(alert.id, "nurse.li")
    alerts.clock.advance(minutes=20)
    alerts.service.tick()
    assert [kind for kind, _ in alerts.transitions(alert.id)] == ["raised", "acknowledged"]

    alerts.feed(reading(BORIS, alerts.clock.now, systolic=150))
    yellow = alerts.open(subject=BORIS)[0]
    alerts.service.acknowledge(yellow.id, "nurse.li")
    alerts.clock.advance(minutes=1)
    alerts.feed(reading(BORIS, alerts.clock.now, systolic=195))
    worse = alerts.service.alert(yellow.id)[0]
    assert (worse.state, worse.acknowledged_by) == ("raised", None), "red needs a fresh acknowledgement"
    alerts.clock.advance(minutes=9, seconds=59)
    alerts.service.tick()
    assert alerts.service.alert(yellow.id)[0].escalation_level == 0
    alerts.clock.advance(seconds=1)
    alerts.service.tick()
    assert alerts.service.alert(yellow.id)[0].escalation_level == 1
    alerts.close()


def test_webhook_deliveries_are_queued_with_the_transition(tmp_path: Path) -> None:
    alerts = make_alerts(tmp_path, {"routes": ROUTES, "escalation_minutes": 10})
    alerts.feed(reading(ANNA, T0, systolic=190))
    alert = alerts.open()[0]
    alerts.clock.advance(minutes=10)
    alerts.service.tick()
    alerts.service.acknowledge(alert.id, "nurse.li")
    with alerts.store.reading() as db:
        rows = db.execute("SELECT route, body FROM deliveries ORDER BY id").fetchall()
    sent = [(route, json.loads(body)["transition"]) for route, body in rows]
    assert sent == [
        ("nurses", "raised"),
        ("doctor", "escalated"),
        ("nurses", "acknowledged"),
        ("doctor", "acknowledged"),
    ]
    alerts.close()
