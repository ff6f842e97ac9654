"""Alerts through a real Mosquitto and the bridge: an envelope becomes an alert on the alerts topic,
staff acknowledge and resolve it through the API, a webhook receiver on loopback gets it signed,
and a gateway's Last Will becomes an offline alert."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from cloud_bridge_kit import SITE, SYSTOLIC, TestClient, envelope, site_config, staff_headers, vitals_topic
from paho.mqtt.enums import CallbackAPIVersion
from webhook_receiver import SECRET, Receiver

from careedge_common import topics
from careedge_common.config import SiteConfig
from careedge_testkit.servers import LOOPBACK, Mosquitto, wait_until
from cloud_bridge.bridge import Bridge
from cloud_bridge.webhook import SIGNATURE_HEADER, verify

pytestmark = pytest.mark.e2e

ANNA = "s-" + "a" * 32


def _with_rules(config: SiteConfig, rules: dict[str, Any]) -> SiteConfig:
    document = config.model_dump(mode="json")
    document["alerts"]["rules"] = rules
    return SiteConfig.model_validate(document)


def _published(alerts_topic: TestClient) -> dict[str, Any]:
    return dict(json.loads(alerts_topic.next_message().payload))


def test_reading_to_alert_on_the_topic_then_acknowledged_and_resolved_via_the_api(
    tmp_path: Path, mosquitto: Mosquitto, gateway: TestClient
) -> None:
    receiver = Receiver(failures=0)
    secret_file = tmp_path / "nurses.key"
    secret_file.write_bytes(SECRET)
    route = {"id": "nurses", "role": "nurse_station", "url": receiver.url, "secret_file": str(secret_file)}
    config = _with_rules(site_config(tmp_path, mosquitto), {"routes": [route], "tick_s": 0.2})
    alerts_topic = TestClient(mosquitto, topics.alerts(SITE))
    try:
        with Bridge(config) as bridge:
            wait_until(lambda: bridge.subscribed, 10, "the bridge to subscribe")
            reading = envelope((SYSTOLIC, 190), subject=ANNA)
            gateway.publish(vitals_topic(), reading)
            gateway.publish(vitals_topic(), envelope((SYSTOLIC, 195), subject=ANNA))
            raised = _published(alerts_topic)
            assert (raised["transition"], raised["severity"], raised["subject"]) == ("raised", "red", ANNA)
            assert raised["reading_id"] == reading["id"]

            api = httpx.Client(base_url=bridge.api_url, headers=staff_headers(tmp_path, "nurse.li"))
            zhao = staff_headers(tmp_path, "dr.zhao")
            pharmacist = staff_headers(tmp_path, "chen", "pharmacist")
            wait_until(
                lambda: len(api.get(f"/alerts/{raised['id']}").json()["alert"]["reading_ids"]) == 2,
                10,
                "the repeat",
            )
            acknowledged = api.post(f"/alerts/{raised['id']}/acknowledge")
            assert acknowledged.status_code == 200
            assert acknowledged.json()["alert"]["acknowledged_by"] == "nurse.li"
            on_topic = _published(alerts_topic)
            assert (on_topic["id"], on_topic["transition"], on_topic["state"]) == (
                raised["id"],
                "acknowledged",
                "acknowledged",
            )

            status = api.get("/residents/status").json()["residents"]
            assert [(r["subject"], r["colour"]) for r in status] == [(ANNA, "red")]
            assert (
                api.get("/alerts", params={"state": "acknowledged"}).json()["alerts"][0]["id"] == raised["id"]
            )
            assert api.get("/alerts", params={"category": "call"}).json()["alerts"] == []
            assert api.post(f"/alerts/{raised['id']}/resolve", headers=pharmacist).status_code == 403
            assert api.post(f"/alerts/{raised['id']}/resolve", headers=zhao).status_code == 200
            assert _published(alerts_topic)["transition"] == "resolved"
            assert api.post(f"/alerts/{raised['id']}/resolve", headers=zhao).status_code == 409
            assert api.post("/alerts/01ARZ3NDEKTSV4RRFFQ69G5FAV/acknowledge").status_code == 404
            steps = api.get(f"/alerts/{raised['id']}").json()["transitions"]
            assert [(s["kind"], s["actor"]) for s in steps] == [
                ("raised", None),
                ("repeated", None),
                ("acknowledged", "nurse.li"),
                ("resolved", "dr.zhao"),
            ]
            assert api.get("/residents/status").json()["residents"][0]["colour"] == "green"

            wait_until(
                lambda: len(receiver.accepted()) == 3, 10, "raised, acknowledged, resolved at the webhook"
            )
            wait_until(
                lambda: api.get("/health").json()["webhooks"] == {"delivered": 3}, 10, "deliveries recorded"
            )
            kinds = [json.loads(body)["transition"] for body in receiver.accepted()]
            assert kinds == ["raised", "acknowledged", "resolved"]
            for headers, body, _ in receiver.requests:
                assert verify(SECRET, headers[SIGNATURE_HEADER.lower()], body, int(time.time()))
        assert alerts_topic.received.empty()
    finally:
        alerts_topic.close()
        receiver.close()


def test_gateway_last_will_raises_an_offline_alert_and_a_call_raises_a_red_one(
    tmp_path: Path, mosquitto: Mosquitto, gateway: TestClient
) -> None:
    config = _with_rules(site_config(tmp_path, mosquitto), {"offline": {"grace_s": 0}, "tick_s": 0.1})
    alerts_topic = TestClient(mosquitto, topics.alerts(SITE))
    edge = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="edge-gw-9", protocol=mqtt.MQTTv5)
    edge.will_set(topics.state(SITE, "gw-9"), b'{"v":1,"status":"offline"}', qos=1, retain=True)
    try:
        with Bridge(config) as bridge:
            wait_until(lambda: bridge.subscribed, 10, "the bridge to subscribe")
            edge.connect(LOOPBACK, mosquitto.port, keepalive=5)
            edge.loop_start()
            birth = {"v": 1, "status": "online", "devices": [{"id": "kiosk-1", "kind": "hl7_kiosk"}]}
            edge.publish(topics.state(SITE, "gw-9"), json.dumps(birth), qos=1, retain=True).wait_for_publish(
                5
            )
            call = envelope(subject=ANNA, type="call", device="kiosk", data={"station": "kiosk"})
            gateway.publish(topics.call(SITE, "gw-1"), call)
            raised_call = _published(alerts_topic)
            assert (raised_call["category"], raised_call["severity"], raised_call["reading_id"]) == (
                "call",
                "red",
                call["id"],
            )
            gateway.publish(topics.state(SITE, "gw-8"), b"{not a state")
            wait_until(
                lambda: bridge.metrics.value("careedge_bridge_rejected_total", reason="bad_state") == 1,
                10,
                "the bad state document counted",
            )
            edge.socket().close()
            offline = _published(alerts_topic)
            assert (offline["category"], offline["scope"], offline["transition"]) == (
                "offline",
                "gateway/gw-9",
                "raised",
            )
            edge.loop_stop()
            edge.reconnect()
            edge.loop_start()
            edge.publish(topics.state(SITE, "gw-9"), json.dumps(birth), qos=1, retain=True).wait_for_publish(
                5
            )
            back = _published(alerts_topic)
            assert (back["id"], back["transition"]) == (offline["id"], "resolved")
    finally:
        edge.disconnect()
        edge.loop_stop()
        alerts_topic.close()
