"""The bridge against real Mosquitto and VictoriaMetrics, fed by an MQTT client like a gateway."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cloud_bridge_kit import (
    DEVICE,
    DIASTOLIC,
    GATEWAY,
    PULSE,
    SITE,
    SYSTOLIC,
    TestClient,
    envelope,
    site_config,
    staff_headers,
    vitals_topic,
)

from careedge_common import topics
from careedge_common.epoch import epoch_ms
from careedge_testkit.servers import Mosquitto, VictoriaMetrics, wait_until
from cloud_bridge.bridge import Bridge

pytestmark = pytest.mark.e2e


def _series(victoria: VictoriaMetrics) -> dict[str, dict[str, Any]]:
    """Stored series by code."""
    return {series["metric"]["code"]: series for series in victoria.export()}


def _metric(bridge: Bridge, name: str, **labels: str) -> float:
    return bridge.metrics.value(f"careedge_bridge_{name}", **labels)


def test_points_stored_with_values_tags_and_ms_timestamps(
    tmp_path: Path, mosquitto: Mosquitto, victoria: VictoriaMetrics, gateway: TestClient
) -> None:
    measured = datetime.now(UTC).replace(microsecond=987_654)
    with Bridge(site_config(tmp_path, mosquitto, victoria=victoria)) as bridge:
        wait_until(lambda: bridge.subscribed, 10, "the bridge to subscribe")
        gateway.publish(vitals_topic(), envelope((SYSTOLIC, 128), (PULSE, 71.5), measured_at=measured))
        gateway.publish(vitals_topic(), envelope((SYSTOLIC, 119), subject=None, measured_at=measured))
        wait_until(lambda: victoria.count_points() == 3, 10, "three points")
    series = victoria.export()
    by_tags = {tuple(sorted(s["metric"].items())): (s["values"], s["timestamps"]) for s in series}
    tags = {"__name__": "vitals_value", "site": SITE, "gateway": GATEWAY, "device": DEVICE}
    time_ms = epoch_ms(measured)
    assert time_ms % 1000 == 987
    assert by_tags == {
        tuple(sorted({**tags, "subject": "res-7f3a", "code": "8480-6", "unit": "mm[Hg]"}.items())): (
            [128],
            [time_ms],
        ),
        tuple(sorted({**tags, "subject": "res-7f3a", "code": "8867-4", "unit": "/min"}.items())): (
            [71.5],
            [time_ms],
        ),
        tuple(sorted({**tags, "code": "8480-6", "unit": "mm[Hg]"}.items())): ([119], [time_ms]),
    }


def test_malformed_messages_are_rejected_by_reason_and_good_ones_stored(
    tmp_path: Path, mosquitto: Mosquitto, victoria: VictoriaMetrics, gateway: TestClient
) -> None:
    with Bridge(site_config(tmp_path, mosquitto, victoria=victoria)) as bridge:
        wait_until(lambda: bridge.subscribed, 10, "the bridge to subscribe")
        gateway.publish(vitals_topic(), envelope((SYSTOLIC, 120)))
        gateway.publish(vitals_topic(), b"{not json")
        gateway.publish(vitals_topic(), envelope((SYSTOLIC, "120")))
        gateway.publish(vitals_topic(), envelope((SYSTOLIC, 120), v=2))
        gateway.publish(vitals_topic(), envelope((SYSTOLIC, 120), site="other"))
        gateway.publish(vitals_topic(device="kiosk-9"), envelope((SYSTOLIC, 120)))
        gateway.publish(vitals_topic(), envelope((DIASTOLIC, 80)))
        wait_until(lambda: _metric(bridge, "messages_acked_total") == 7, 10, "every message acknowledged")
        expected = {
            "invalid_json": 1,
            "schema": 1,
            "unsupported_version": 1,
            "wrong_site": 1,
            "topic_mismatch": 1,
        }
        for reason, count in expected.items():
            assert _metric(bridge, "rejected_total", reason=reason) == count, reason
        assert _metric(bridge, "points_written_total") == 2
        metrics_text = httpx.get(f"{bridge.api_url}/metrics").text
        assert 'careedge_bridge_rejected_total{reason="topic_mismatch"} 1.0' in metrics_text
    wait_until(lambda: sorted(_series(victoria)) == ["8462-4", "8480-6"], 10, "the two good points")


def test_redelivered_envelope_is_stored_and_alerted_once_even_after_restart(
    tmp_path: Path, mosquitto: Mosquitto, victoria: VictoriaMetrics, gateway: TestClient
) -> None:
    """Plain VictoriaMetrics keeps duplicate samples: one stored sample proves the bridge dropped
    the re-deliveries itself (the in-memory window first, the processed table after a restart)."""
    alerts = TestClient(mosquitto, topics.alerts(SITE))
    reading = envelope((SYSTOLIC, 185))
    config = site_config(tmp_path, mosquitto, victoria=victoria)
    with Bridge(config) as bridge:
        wait_until(lambda: bridge.subscribed, 10, "the bridge to subscribe")
        gateway.publish(vitals_topic(), reading)
        gateway.publish(vitals_topic(), reading)
        wait_until(lambda: _metric(bridge, "messages_acked_total") == 2, 10, "both copies acknowledged")
        assert _metric(bridge, "duplicates_total") == 1
    with Bridge(config) as bridge:
        wait_until(lambda: bridge.subscribed, 10, "the bridge to subscribe again")
        gateway.publish(vitals_topic(), reading)
        wait_until(lambda: _metric(bridge, "messages_acked_total") == 1, 10, "the third copy acknowledged")
        assert _metric(bridge, "duplicates_total") == 1
        nurse = staff_headers(tmp_path, "nurse.li")
        assert len(httpx.get(f"{bridge.api_url}/alerts", headers=nurse).json()["alerts"]) == 1
    wait_until(victoria.export, 10, "the stored point")
    assert [series["values"] for series in victoria.export()] == [[185]]
    assert json.loads(alerts.next_message().payload)["reading_id"] == reading["id"]
    assert alerts.received.empty()
    alerts.close()


def test_red_blood_pressure_raises_alert_published_and_listed(
    tmp_path: Path, mosquitto: Mosquitto, victoria: VictoriaMetrics, gateway: TestClient
) -> None:
    alerts = TestClient(mosquitto, topics.alerts(SITE))
    reading = envelope((SYSTOLIC, 185), (DIASTOLIC, 125), (PULSE, 70))
    with Bridge(site_config(tmp_path, mosquitto, victoria=victoria)) as bridge:
        wait_until(lambda: bridge.subscribed, 10, "the bridge to subscribe")
        started = datetime.now(UTC) - timedelta(seconds=1)
        gateway.publish(vitals_topic(), envelope((SYSTOLIC, 150), subject="res-other"))
        gateway.publish(vitals_topic(), reading)
        published = [json.loads(alerts.next_message().payload) for _ in range(3)]
        red = [alert for alert in published if alert["severity"] == "red"]
        assert [(a["code"], a["value"], a["limit"], a["direction"]) for a in red] == [
            ("8480-6", 185.0, 180.0, "above"),
            ("8462-4", 125.0, 120.0, "above"),
        ]
        assert all(a["reading_id"] == reading["id"] and a["subject"] == "res-7f3a" for a in red)
        assert red[0]["measured_at"] == reading["measured_at"]
        assert red[0]["category"] == "threshold"
        assert not published[0]["historical"]

        api = httpx.Client(base_url=bridge.api_url, headers=staff_headers(tmp_path, "nurse.li"))
        listed = api.get("/alerts", params={"severity": "red"}).json()["alerts"]
        assert {a["id"] for a in listed} == {a["id"] for a in red}
        assert len(api.get("/alerts", params={"subject": "res-other"}).json()["alerts"]) == 1
        assert len(api.get("/alerts", params={"since": started.isoformat()}).json()["alerts"]) == 3
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        assert api.get("/alerts", params={"since": future}).json()["alerts"] == []
        assert len(api.get("/alerts", params={"limit": 1}).json()["alerts"]) == 1
        assert api.get("/alerts", params={"limit": 100_000}).status_code == 422
        health = api.get("/health")
        assert health.status_code == 200
        assert health.json()["mqtt_connected"]
        assert health.json()["last_write_at"] is not None
        assert _metric(bridge, "alerts_total", severity="red") == 2
        assert _metric(bridge, "alerts_total", severity="yellow") == 1
    alerts.close()


def test_unacknowledged_messages_come_back_to_a_restarted_bridge(
    tmp_path: Path, mosquitto: Mosquitto, idempotent_victoria: VictoriaMetrics, gateway: TestClient
) -> None:
    victoria = idempotent_victoria
    config = site_config(tmp_path, mosquitto, victoria=victoria)
    start = datetime.now(UTC) - timedelta(minutes=5)
    readings = [envelope((PULSE, 60 + i), measured_at=start + timedelta(seconds=i)) for i in range(20)]
    with Bridge(config) as bridge:
        wait_until(lambda: bridge.subscribed, 10, "the bridge to subscribe")
        victoria.pause()
        try:
            for reading in readings:
                gateway.publish(vitals_topic(), reading)
            wait_until(lambda: _metric(bridge, "sink_errors_total") >= 2, 15, "failed writes")
            assert httpx.get(f"{bridge.api_url}/health").status_code == 503
        finally:
            bridge.stop()
            victoria.resume()
        assert _metric(bridge, "messages_acked_total") == 0
    with Bridge(config) as bridge:
        wait_until(
            lambda: _metric(bridge, "messages_acked_total") == 20, 20, "all twenty redelivered and stored"
        )
        assert _metric(bridge, "messages_received_total") == 20
    wait_until(lambda: victoria.count_points() == 20, 10, "twenty points")
    assert sorted(_series(victoria)["8867-4"]["values"]) == [60 + i for i in range(20)]


def test_back_pressure_holds_at_receive_maximum_then_drains_exactly_once(
    tmp_path: Path, mosquitto: Mosquitto, idempotent_victoria: VictoriaMetrics, gateway: TestClient
) -> None:
    victoria = idempotent_victoria
    config = site_config(tmp_path, mosquitto, victoria=victoria, receive_maximum=10, batch_size=4)
    start = datetime.now(UTC) - timedelta(minutes=5)
    with Bridge(config) as bridge:
        wait_until(lambda: bridge.subscribed, 10, "the bridge to subscribe")
        victoria.pause()
        try:
            for i in range(60):
                gateway.publish(
                    vitals_topic(), envelope((PULSE, 50 + i), measured_at=start + timedelta(seconds=i))
                )
            wait_until(lambda: _metric(bridge, "sink_errors_total") >= 3, 15, "three failed writes")
            assert _metric(bridge, "messages_received_total") == 10
            assert _metric(bridge, "messages_acked_total") == 0
            assert bridge.health().queue_depth == 6
        finally:
            victoria.resume()
        wait_until(lambda: _metric(bridge, "messages_acked_total") == 60, 30, "every message acknowledged")
        assert _metric(bridge, "messages_received_total") == 60
    wait_until(lambda: victoria.count_points() == 60, 10, "sixty points")
    assert sorted(_series(victoria)["8867-4"]["values"]) == [50 + i for i in range(60)]


def test_sqlite_sink_stores_points_idempotently(
    tmp_path: Path, mosquitto: Mosquitto, gateway: TestClient
) -> None:
    measured = datetime.now(UTC).replace(microsecond=5_000)
    with Bridge(site_config(tmp_path, mosquitto)) as bridge:
        wait_until(lambda: bridge.subscribed, 10, "the bridge to subscribe")
        gateway.publish(vitals_topic(), envelope((SYSTOLIC, 130), (PULSE, 66), measured_at=measured))
        gateway.publish(vitals_topic(), envelope((SYSTOLIC, 131), subject=None, measured_at=measured))
        gateway.publish(vitals_topic(), envelope((PULSE, 67), measured_at=measured))
        wait_until(lambda: _metric(bridge, "messages_acked_total") == 3, 10, "three messages stored")
    with sqlite3.connect(tmp_path / "points.db") as db:
        rows = db.execute(
            "SELECT site, gateway, device, subject, code, unit, time_ms, value FROM vitals"
        ).fetchall()
    time_ms = epoch_ms(measured)
    assert sorted(rows) == [
        (SITE, GATEWAY, DEVICE, "", "8480-6", "mm[Hg]", time_ms, 131.0),
        (SITE, GATEWAY, DEVICE, "res-7f3a", "8480-6", "mm[Hg]", time_ms, 130.0),
        (SITE, GATEWAY, DEVICE, "res-7f3a", "8867-4", "/min", time_ms, 67.0),
    ]


def test_mqtt_311_broker_uses_a_plain_persistent_subscription(
    tmp_path: Path, mosquitto: Mosquitto, victoria: VictoriaMetrics, gateway: TestClient
) -> None:
    config = site_config(tmp_path, mosquitto, victoria=victoria, protocol="3.1.1")
    with Bridge(config) as bridge:
        wait_until(lambda: bridge.subscribed, 10, "the bridge to subscribe")
    gateway.publish(vitals_topic(), envelope((SYSTOLIC, 122)))
    with Bridge(config) as bridge:
        wait_until(lambda: victoria.count_points() == 1, 10, "the point queued while the bridge was away")
        assert _metric(bridge, "messages_acked_total") == 1
