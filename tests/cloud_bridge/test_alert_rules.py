"""Rules beyond single thresholds, through the engine on a real store: NEWS2 from the latest
readings in a window, trends, expected daily measurements, gateways offline, calls and cabinet
events; and which routes hear of what."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from alerts_kit import ANNA, BORIS, T0, Clock, event, make_alerts, reading

from careedge_common.config_alerts import AlertRules
from cloud_bridge.alert import Alert
from cloud_bridge.routing import Router


def test_news2_from_latest_readings_in_the_window_is_partial_and_alerts(tmp_path: Path) -> None:
    alerts = make_alerts(tmp_path, thresholds=[])
    alerts.feed(reading(ANNA, T0 - timedelta(minutes=61), pulse=95))
    assert alerts.open() == [], "one point: low, green"
    spo2 = reading(ANNA, T0, spo2=91)
    alerts.feed(spo2)
    [alert] = alerts.open()
    assert (alert.category, alert.severity) == ("news2", "yellow")
    assert alert.detail["partial"] is True
    assert alert.detail["missing"] == [
        "respiration_rate",
        "air_or_oxygen",
        "systolic_bp",
        "pulse",
        "consciousness",
        "temperature",
    ]
    pulse = reading(ANNA, T0 + timedelta(minutes=5), pulse=135, temperature=39.5)
    alerts.feed(pulse)
    [alert] = alerts.open()
    assert (alert.severity, alert.detail["score"], alert.detail["band"]) == ("red", 8, "high")
    assert alert.transition == "worsened"
    assert alerts.transitions(alert.id)[-1] == ("worsened", sorted([spo2.id, pulse.id]))
    [status] = alerts.service.residents()
    assert (status.subject, status.colour, status.news2 and status.news2["score"]) == (ANNA, "red", 8)
    alerts.close()


def test_news2_scale_2_and_known_oxygen_for_a_hypercapnic_resident(tmp_path: Path) -> None:
    rules = {"residents": {ANNA: {"hypercapnic_respiratory_failure": True, "supplemental_oxygen": True}}}
    alerts = make_alerts(tmp_path, rules, thresholds=[])
    alerts.feed(reading(ANNA, T0, spo2=89, respiration=16), reading(BORIS, T0, spo2=89, respiration=16))
    [boris] = alerts.open()
    assert (boris.subject, boris.detail["points"]["spo2"]) == (BORIS, 3)
    [anna] = [status for status in alerts.service.residents() if status.subject == ANNA]
    assert anna.news2 is not None
    assert anna.news2["points"] == {"respiration_rate": 0, "spo2": 0, "air_or_oxygen": 2}
    assert anna.news2["spo2_scale"] == 2
    assert (anna.colour, anna.news2["partial"]) == ("green", True)
    alerts.close()


def test_news2_alert_clears_at_the_configured_score(tmp_path: Path) -> None:
    alerts = make_alerts(tmp_path, thresholds=[])
    alerts.feed(reading(ANNA, T0, pulse=135, temperature=39.5))
    assert alerts.open()[0].detail["score"] == 5
    alerts.feed(reading(ANNA, T0 + timedelta(minutes=90), pulse=95, temperature=38.5))
    assert alerts.open() == [], "an hour later the old readings are out of the window: 2 points clear it"
    alerts.close()


def test_weight_gain_within_three_days_and_its_hysteresis(tmp_path: Path) -> None:
    alerts = make_alerts(tmp_path, thresholds=[])
    alerts.feed(reading(ANNA, T0 - timedelta(days=6), weight=60.0))
    alerts.feed(reading(ANNA, T0 - timedelta(days=2), weight=70.0))
    alerts.feed(reading(ANNA, T0, weight=71.9))
    assert alerts.open() == []
    heavier = reading(ANNA, T0 + timedelta(hours=1), weight=72.0)
    alerts.feed(heavier)
    [alert] = alerts.open()
    assert (alert.condition, alert.detail["gain_kg"]) == ("trend:weight_gain", 2.0)
    assert heavier.id in alert.reading_ids
    alerts.feed(reading(ANNA, T0 + timedelta(hours=2), weight=71.6))
    assert alerts.open(), "1.6 kg is within the 0.5 kg margin"
    alerts.feed(reading(ANNA, T0 + timedelta(hours=3), weight=71.5))
    assert not alerts.open()
    alerts.close()


def test_systolic_rising_over_a_week(tmp_path: Path) -> None:
    alerts = make_alerts(tmp_path, thresholds=[])
    for day, value in enumerate([118, 121, 124, 126]):
        alerts.feed(reading(BORIS, T0 + timedelta(days=day), systolic=value))
        alerts.feed(reading(ANNA, T0 + timedelta(days=day), systolic=120 + (day % 2)))
    assert alerts.open() == [], "118 to 126 over three days projects to 19 mm[Hg] a week"
    alerts.feed(reading(BORIS, T0 + timedelta(days=4), systolic=131))
    alerts.feed(reading(ANNA, T0 + timedelta(days=4), systolic=121))
    [alert] = alerts.open()
    assert (alert.subject, alert.condition) == (BORIS, "trend:systolic_rise")
    assert alert.detail["rise_mm_hg"] >= 20
    alerts.close()


def test_expected_measurement_missed_by_its_local_time_once_per_day(tmp_path: Path) -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    clock = Clock(datetime(2026, 3, 2, 8, 59, tzinfo=shanghai))
    rules = {"expected": [{"code": "8480-6", "by": "09:00"}], "residents": {BORIS: {"expected": []}}}
    alerts = make_alerts(tmp_path, rules, timezone="Asia/Shanghai", clock=clock)
    alerts.feed(reading(ANNA, clock.now - timedelta(days=1), systolic=120))
    alerts.feed(reading(BORIS, clock.now - timedelta(days=1), systolic=120))
    alerts.service.tick()
    assert alerts.open() == []
    clock.advance(minutes=1)
    alerts.service.tick()
    [alert] = alerts.open()
    assert (alert.subject, alert.condition) == (ANNA, "missed_measurement:8480-6:2026-03-02")
    alerts.service.resolve(alert.id, "nurse.li")
    clock.advance(minutes=5)
    alerts.service.tick()
    assert alerts.open() == [], "resolved by hand: not raised again the same day"
    clock.advance(days=1)
    alerts.service.tick()
    [tomorrow] = alerts.open()
    assert tomorrow.condition.endswith("2026-03-03")
    alerts.feed(reading(ANNA, clock.now, systolic=121))
    assert alerts.open() == []
    alerts.close()


def test_gateway_offline_after_grace_and_back_online(tmp_path: Path) -> None:
    alerts = make_alerts(tmp_path, {"offline": {"grace_s": 120}})
    alerts.state("gw-1", online=False)
    alerts.clock.advance(seconds=119)
    alerts.service.tick()
    alerts.state("gw-1", online=False)
    assert alerts.open() == []
    alerts.clock.advance(seconds=1)
    alerts.service.tick()
    [alert] = alerts.open()
    assert (alert.scope, alert.category, alert.gateway) == ("gateway/gw-1", "offline", "gw-1")
    alerts.clock.advance(minutes=10)
    alerts.service.tick()
    assert len(alerts.all()) == 1
    alerts.state("gw-1", online=True, offline_devices=("cuff-2",))
    [device] = alerts.open()
    assert device.scope == "device/gw-1/cuff-2"
    alerts.close()


def test_calls_and_cabinet_events(tmp_path: Path) -> None:
    alerts = make_alerts(tmp_path)
    first_call = event("call", ANNA, T0, {"station": "kiosk"})
    alerts.feed(first_call, event("call", ANNA, T0 + timedelta(seconds=20), {"station": "kiosk"}))
    missed = event("cabinet_event", BORIS, T0, {"event": "missed", "slot": 3}, "cab-1")
    hot = event("cabinet_event", None, T0, {"event": "temperature_excursion", "temperature": 31.2}, "cab-1")
    alerts.feed(missed, hot, event("cabinet_event", None, T0, {"event": "dispense"}, "cab-1"))
    by_condition = {alert.condition: alert for alert in alerts.open()}
    assert set(by_condition) == {"call", "missed_dose", "cabinet_temperature"}
    call = by_condition["call"]
    assert (call.severity, call.subject, call.reading_id, len(call.reading_ids)) == (
        "red",
        ANNA,
        first_call.id,
        2,
    )
    assert (by_condition["missed_dose"].subject, by_condition["missed_dose"].detail) == (
        BORIS,
        {"event": "missed", "slot": 3},
    )
    assert by_condition["cabinet_temperature"].scope == "device/gw-1/cab-1"
    back = event(
        "cabinet_event",
        None,
        T0 + timedelta(hours=1),
        {"event": "temperature_excursion", "ended": True},
        "cab-1",
    )
    alerts.feed(back)
    assert {alert.condition for alert in alerts.open()} == {"call", "missed_dose"}
    alerts.close()


def _alert(severity: str, category: str, subject: str | None) -> Alert:
    return Alert(
        id="01ARZ3NDEKTSV4RRFFQ69G5FAV",
        site="site-a",
        scope=subject or "gateway/gw-1",
        subject=subject,
        category=category,  # type: ignore[arg-type]
        condition=category,
        severity=severity,  # type: ignore[arg-type]
        title="t",
        raised_at=T0,
        updated_at=T0,
    )


def test_routes_chosen_by_colour_category_and_resident_tags() -> None:
    common = {"url": "http://127.0.0.1:9/", "secret_file": "/nonexistent"}
    rules = AlertRules.model_validate(
        {
            "residents": {ANNA: {"tags": ["severe_mental_disorder"]}},
            "routes": [
                {"id": "nurses", "role": "nurse_station", **common},
                {
                    "id": "doctor",
                    "role": "family_doctor",
                    "colours": ["red"],
                    "categories": ["news2", "threshold"],
                    **common,
                },
                {
                    "id": "grid",
                    "role": "community_grid",
                    "resident_tags": ["severe_mental_disorder"],
                    **common,
                },
            ],
        }
    )
    router = Router(rules)
    assert router.first_line(_alert("yellow", "threshold", ANNA)) == ("nurses", "grid")
    assert router.first_line(_alert("red", "threshold", BORIS)) == ("nurses", "doctor")
    assert router.first_line(_alert("red", "call", BORIS)) == ("nurses",)
    assert router.first_line(_alert("red", "offline", None)) == ("nurses",)
