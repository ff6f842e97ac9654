"""Helpers for the bridge tests: configs on free ports, envelopes, an MQTT test client."""

from __future__ import annotations

import json
import queue
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from careedge_common import topics
from careedge_common.access.roles import Role
from careedge_common.access.tokens import TokenFile
from careedge_common.config import SiteConfig
from careedge_common.envelope import new_event_id, rfc3339
from careedge_testkit.servers import LOOPBACK, Mosquitto, VictoriaMetrics, free_port
from careedge_testkit.tokens import bearer

SITE = "site-a"
GATEWAY = "gw-1"
DEVICE = "kiosk-1"
SYSTOLIC = {"code": "8480-6", "name": "Systolic blood pressure", "unit": "mm[Hg]"}
DIASTOLIC = {"code": "8462-4", "name": "Diastolic blood pressure", "unit": "mm[Hg]"}
PULSE = {"code": "8867-4", "name": "Heart rate", "unit": "/min"}
THRESHOLDS = [
    {"code": "8480-6", "yellow_above": 140, "red_above": 180, "yellow_below": 100, "red_below": 90},
    {"code": "8462-4", "yellow_above": 90, "red_above": 120},
]


def tokens_file(tmp_path: Path) -> Path:
    return tmp_path / "tokens.json"


def staff_headers(tmp_path: Path, name: str, role: Role = "nurse") -> dict[str, str]:
    """The header of a new token in the bridge's tokens file (a running bridge sees it at once)."""
    return bearer(TokenFile(tokens_file(tmp_path)).create(name, role, datetime.now(UTC)))


def site_config(
    tmp_path: Path,
    mosquitto: Mosquitto,
    *,
    victoria: VictoriaMetrics | None = None,
    client_id: str = "bridge-test",
    protocol: str = "5",
    **bridge: Any,
) -> SiteConfig:
    """A bridge config against the test servers; SQLite sink when ``victoria`` is None."""
    sink: dict[str, Any] = (
        {"kind": "influxdb", "url": victoria.url, "org": "care", "bucket": "vitals", "timeout_ms": 500}
        if victoria is not None
        else {"kind": "sqlite", "path": str(tmp_path / "points.db")}
    )
    return SiteConfig.model_validate(
        {
            "site": {"id": SITE},
            "broker": {
                "insecure": True,
                "host": LOOPBACK,
                "port": mosquitto.port,
                "protocol": protocol,
                "keepalive_s": 10,
            },
            "bridge": {
                "client_id": client_id,
                "sink": sink,
                "store_path": str(tmp_path / "bridge.db"),
                "api": {"port": free_port(), "access": {"tokens_file": str(tokens_file(tmp_path))}},
                "batch_wait_ms": 20,
                **bridge,
            },
            "alerts": {"thresholds": THRESHOLDS},
        }
    )


def envelope(
    *observations: tuple[dict[str, str], float],
    measured_at: datetime | None = None,
    subject: str | None = "res-7f3a",
    envelope_id: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """An observation envelope as a gateway publishes it (``measured_at`` defaults to now, UTC)."""
    moment = measured_at or datetime.now(UTC).replace(microsecond=123_000)
    return {
        "v": 1,
        "id": envelope_id or new_event_id(),
        "seq": 1,
        "boot": 1,
        "site": SITE,
        "gateway": GATEWAY,
        "device": DEVICE,
        "type": "observation",
        "measured_at": rfc3339(moment),
        "received_at": rfc3339(moment + timedelta(milliseconds=200)),
        "subject": subject,
        "obs": [{**kind, "value": value} for kind, value in observations],
        **overrides,
    }


def vitals_topic(gateway: str = GATEWAY, device: str = DEVICE) -> str:
    return topics.vitals(SITE, gateway, device)


class TestClient:
    """A gateway-like MQTT 5 client: publishes at QoS 1 (waiting for PUBACK) and records messages."""

    __test__ = False

    def __init__(self, mosquitto: Mosquitto, *subscriptions: str) -> None:
        self.received: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._subscribed: queue.Queue[int] = queue.Queue()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"test-{new_event_id()}", protocol=mqtt.MQTTv5
        )
        self._client.on_message = lambda _client, _userdata, message: self.received.put(message)
        self._client.on_subscribe = lambda _client, _userdata, mid, *_: self._subscribed.put(mid)
        self._client.connect(LOOPBACK, mosquitto.port)
        self._client.loop_start()
        for subscription in subscriptions:
            self._client.subscribe(subscription, qos=1)
            self._subscribed.get(timeout=5)

    def publish(self, topic: str, payload: bytes | dict[str, Any]) -> None:
        data = json.dumps(payload).encode() if isinstance(payload, dict) else payload
        self._client.publish(topic, data, qos=1).wait_for_publish(5)

    def next_message(self, timeout: float = 10.0) -> mqtt.MQTTMessage:
        return self.received.get(timeout=timeout)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
