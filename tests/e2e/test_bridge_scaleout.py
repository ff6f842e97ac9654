"""Two bridge processes on one MQTT v5 shared subscription, one relational store, one
VictoriaMetrics: the load is split, nothing is processed twice, nothing is missed, and a bridge
killed mid-stream that stays down has its share taken over by the survivor.

Mosquitto 2.0 never hands a dead member's unacknowledged shared-subscription messages to the other
members (checked: it keeps them, and keeps queueing that member's round-robin share, in the dead
member's persistent session). So each bridge announces itself with a retained birth document and a
Last Will ``offline`` on ``careedge/v1/{site}/_bridges/{client_id}/state``; when one goes offline the
lowest online bridge connects with the dead one's client ID, unsubscribes its session, and drains
what it holds through its own pipeline (``cloud_bridge.takeover``). When the dead bridge comes back
it takes its session over and resubscribes; the takeover client just stops.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client.parser import text_string_to_metric_families

from careedge_common import topics
from careedge_common.envelope import new_event_id, rfc3339
from careedge_testkit.mqtt_capture import MqttCapture
from careedge_testkit.processes import Daemon, write_config
from careedge_testkit.servers import LOOPBACK, Mosquitto, VictoriaMetrics, free_port, wait_until

SITE, GATEWAY = "home-scale", "gw-1"
RED_SYSTOLIC = 185
ACKED = "careedge_bridge_messages_acked_total"
TAKEN_OVER = "careedge_bridge_takeover_messages_total"
STARTED = "careedge_bridge_takeovers_started_total"
FINISHED = "careedge_bridge_takeovers_finished_total"


class SharedStoreSite:
    """Configs for bridges that differ only in client ID and API port, as on two hosts."""

    def __init__(self, tmp_path: Path, broker: Mosquitto, tsdb: VictoriaMetrics) -> None:
        self._tmp = tmp_path
        self._broker = broker
        self._tsdb = tsdb
        self.store_path = tmp_path / "shared" / "bridge.db"
        self.api_ports: dict[str, int] = {}

    def bridge(self, name: str, takeover: dict[str, Any] | None = None) -> Daemon:
        port = self.api_ports.setdefault(name, free_port())
        config = write_config(
            self._tmp / f"{name}.yaml",
            {
                "site": {"id": SITE},
                "broker": {"insecure": True, "port": self._broker.port, "keepalive_s": 5},
                "bridge": {
                    "client_id": name,
                    "sink": {"kind": "influxdb", "url": self._tsdb.url, "org": "o", "bucket": "b"},
                    "store_path": str(self.store_path),
                    "api": {"port": port},
                    "batch_wait_ms": 20,
                    "takeover": takeover or {},
                },
                "alerts": {"thresholds": [{"code": "8480-6", "yellow_above": 139, "red_above": 180}]},
            },
        )
        return Daemon("bridge", config)

    def metric(self, name: str, sample: str, **labels: str) -> float:
        with urllib.request.urlopen(
            f"http://{LOOPBACK}:{self.api_ports[name]}/metrics", timeout=5
        ) as response:
            text = response.read().decode()
        return sum(
            found.value
            for family in text_string_to_metric_families(text)
            for found in family.samples
            if found.name == sample and labels.items() <= found.labels.items()
        )

    def ready(self, name: str) -> bool:
        try:
            url = f"http://{LOOPBACK}:{self.api_ports[name]}/health"
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(json.loads(response.read()).get("mqtt_connected"))
        except OSError:
            return False

    def processed(self) -> int:
        with contextlib.closing(sqlite3.connect(f"file:{self.store_path}?mode=ro", uri=True)) as db:
            return int(db.execute("SELECT count(*) FROM processed").fetchone()[0])

    def alert_readings(self) -> list[str]:
        """Reading IDs of every stored alert transition (raised or repeated), one per evaluation."""
        with contextlib.closing(sqlite3.connect(f"file:{self.store_path}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT reading_ids FROM alert_transitions")
            return [reading_id for (ids,) in rows for reading_id in json.loads(ids)]


@contextlib.contextmanager
def _gateway(broker: Mosquitto) -> Iterator[mqtt.Client]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"gw-{new_event_id()}", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(100)
    client.connect(LOOPBACK, broker.port)
    client.loop_start()
    try:
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


def _envelopes(count: int, start: datetime, first_seq: int = 1) -> list[dict[str, Any]]:
    """One systolic reading each, a millisecond apart; every tenth is red."""
    return [
        {
            "v": 1,
            "id": new_event_id(),
            "seq": first_seq + index,
            "boot": 1,
            "site": SITE,
            "gateway": GATEWAY,
            "device": f"kiosk-{index % 4}",
            "type": "observation",
            "measured_at": rfc3339(start + timedelta(milliseconds=index)),
            "received_at": rfc3339(start + timedelta(milliseconds=index + 100)),
            "subject": f"s-{index % 40:04d}",
            "obs": [
                {
                    "code": "8480-6",
                    "name": "Systolic blood pressure",
                    "value": RED_SYSTOLIC if index % 10 == 0 else 120 + index % 15,
                    "unit": "mm[Hg]",
                }
            ],
        }
        for index in range(count)
    ]


def _publish(client: mqtt.Client, envelopes: list[dict[str, Any]]) -> None:
    infos = [
        client.publish(topics.vitals(SITE, GATEWAY, envelope["device"]), json.dumps(envelope), qos=1)
        for envelope in envelopes
    ]
    for info in infos:
        info.wait_for_publish(30)


def _stored(tsdb: VictoriaMetrics) -> dict[tuple[str, int], float]:
    """(subject, ms) -> value of every stored point of the site."""
    return {
        (series["metric"]["subject"], timestamp): value
        for series in tsdb.export(f'{{__name__="vitals_value",site="{SITE}"}}')
        for value, timestamp in zip(series["values"], series["timestamps"], strict=True)
    }


def _expected(envelopes: list[dict[str, Any]]) -> dict[tuple[str, int], float]:
    return {
        (
            envelope["subject"],
            int(datetime.fromisoformat(envelope["measured_at"]).timestamp() * 1000),
        ): envelope["obs"][0]["value"]
        for envelope in envelopes
    }


def _red(envelopes: list[dict[str, Any]]) -> list[str]:
    return [envelope["id"] for envelope in envelopes if envelope["obs"][0]["value"] == RED_SYSTOLIC]


def test_two_bridges_split_the_load_and_process_each_reading_once(
    mosquitto: Mosquitto, victoria: VictoriaMetrics, tmp_path: Path
) -> None:
    site = SharedStoreSite(tmp_path, mosquitto, victoria)
    envelopes = _envelopes(600, datetime.now(UTC) - timedelta(minutes=5))
    redelivered = envelopes[::6]
    with (
        site.bridge("bridge-a") as bridge_a,
        site.bridge("bridge-b") as bridge_b,
        MqttCapture(mosquitto.port, [topics.alerts(SITE)]) as alerts,
        _gateway(mosquitto) as gateway,
    ):
        wait_until(lambda: site.ready("bridge-a") and site.ready("bridge-b"), 60, "both bridges subscribed")
        _publish(gateway, envelopes)
        wait_until(lambda: site.processed() == len(envelopes), 60, "every envelope processed")
        _publish(gateway, redelivered)
        acked = (ACKED,) * 2
        wait_until(
            lambda: (
                sum(map(site.metric, ("bridge-a", "bridge-b"), acked)) == len(envelopes) + len(redelivered)
            ),
            60,
            "every delivery acknowledged",
        )
        red = _red(envelopes)
        red_residents = {envelope["subject"] for envelope in envelopes if envelope["id"] in red}
        # One open alert per resident and condition: each red resident's readings repeat one alert.
        alerts.wait_for(lambda msgs: len(msgs) >= len(red_residents), 30, "an alert per red resident")
        wait_until(lambda: len(site.alert_readings()) == len(red), 30, "every red reading on its alert")
        per_bridge = {name: site.metric(name, acked[0]) for name in ("bridge-a", "bridge-b")}
        duplicates = sum(site.metric(name, "careedge_bridge_duplicates_total") for name in per_bridge)
        assert bridge_a.running
        assert bridge_b.running
    assert min(per_bridge.values()) >= len(envelopes) / 4, per_bridge
    assert duplicates == len(redelivered)
    assert site.processed() == len(envelopes)
    assert sorted(site.alert_readings()) == sorted(red)
    published = [json.loads(m.payload) for m in alerts.messages]
    assert sorted(alert["subject"] for alert in published) == sorted(red_residents)
    assert {alert["transition"] for alert in published} == {"raised"}
    assert _stored(victoria) == _expected(envelopes)


def test_a_bridge_killed_mid_stream_and_left_down_has_its_share_taken_over(
    mosquitto: Mosquitto, victoria: VictoriaMetrics, tmp_path: Path
) -> None:
    site = SharedStoreSite(tmp_path, mosquitto, victoria)
    start = datetime.now(UTC) - timedelta(minutes=5)
    first = _envelopes(1000, start)
    second = _envelopes(400, start + timedelta(seconds=2), first_seq=1001)
    third = _envelopes(200, start + timedelta(seconds=3), first_seq=1401)
    with site.bridge("bridge-b") as bridge_b, _gateway(mosquitto) as gateway:
        bridge_a = site.bridge("bridge-a").start()
        try:
            wait_until(
                lambda: site.ready("bridge-a") and site.ready("bridge-b"), 60, "both bridges subscribed"
            )
            _publish(gateway, first)
            wait_until(lambda: site.metric("bridge-a", ACKED) > 0, 30, "bridge-a acknowledging")
            # Frozen while bridge-a dies and the second part is published, bridge-b cannot take over
            # before bridge-a's round-robin share of it has been queued in bridge-a's session.
            bridge_b.pause()
            bridge_a.kill()
            _publish(gateway, second)
            bridge_b.resume()
            wait_until(
                lambda: site.processed() == len(first) + len(second), 60, "every envelope, bridge-a down"
            )
            wait_until(
                lambda: site.metric("bridge-b", FINISHED, outcome="drained") == 1, 30, "takeover drained"
            )
            taken_over = site.metric("bridge-b", TAKEN_OVER)
            with MqttCapture(mosquitto.port, [topics.bridge_state(SITE)]) as bridge_state:
                bridge_state.wait_for(lambda messages: messages, 10, "the retained bridge state")
            bridge_a.start()
            wait_until(lambda: site.ready("bridge-a"), 60, "bridge-a back")
            _publish(gateway, third)
            wait_until(lambda: site.processed() == len(first) + len(second) + len(third), 60, "all stored")
            acked_by_a = site.metric("bridge-a", ACKED)
            takeovers = site.metric("bridge-b", STARTED)
        finally:
            bridge_a.kill()
        assert bridge_b.running
    assert taken_over >= len(second) / 4, taken_over
    assert bridge_state.messages[-1].payload == b"online", "bridge-a's Will is not the site's last word"
    assert acked_by_a >= len(third) / 4, acked_by_a
    assert takeovers == 1
    everything = first + second + third
    assert sorted(site.alert_readings()) == sorted(_red(everything))
    assert _stored(victoria) == _expected(everything)


def test_a_takeover_gives_the_session_back_when_its_bridge_returns(
    mosquitto: Mosquitto, victoria: VictoriaMetrics, tmp_path: Path
) -> None:
    site = SharedStoreSite(tmp_path, mosquitto, victoria)
    start = datetime.now(UTC) - timedelta(minutes=5)
    first, second = _envelopes(300, start), _envelopes(300, start + timedelta(seconds=1), first_seq=301)
    # A quiet period longer than the test: the takeover is still connected when bridge-a returns.
    with site.bridge("bridge-b", {"quiet_s": 600}) as bridge_b, _gateway(mosquitto) as gateway:
        bridge_a = site.bridge("bridge-a").start()
        try:
            wait_until(
                lambda: site.ready("bridge-a") and site.ready("bridge-b"), 60, "both bridges subscribed"
            )
            _publish(gateway, first)
            wait_until(lambda: site.processed() == len(first), 60, "the first part stored")
            bridge_a.kill()
            wait_until(lambda: site.metric("bridge-b", STARTED) == 1, 30, "bridge-b taking over")
            bridge_a.start()
            wait_until(
                lambda: site.metric("bridge-b", FINISHED, outcome="interrupted") == 1,
                60,
                "the takeover ended by bridge-a's return",
            )
            wait_until(lambda: site.ready("bridge-a"), 60, "bridge-a back")
            _publish(gateway, second)
            wait_until(lambda: site.processed() == len(first) + len(second), 60, "the second part stored")
            acked_by_a = site.metric("bridge-a", ACKED)
            takeovers = site.metric("bridge-b", STARTED)
            still_a = site.ready("bridge-a")
        finally:
            bridge_a.kill()
        assert bridge_b.running
    assert still_a
    assert acked_by_a >= len(second) / 4, acked_by_a
    assert takeovers == 1
    assert _stored(victoria) == _expected(first + second)


def test_a_bridge_stopped_cleanly_and_left_down_has_its_share_taken_over(
    mosquitto: Mosquitto, victoria: VictoriaMetrics, tmp_path: Path
) -> None:
    """A clean stop keeps the session and its shared subscription, so the share would queue there
    just as after a kill: the stopping bridge tells its peers it is offline."""
    site = SharedStoreSite(tmp_path, mosquitto, victoria)
    envelopes = _envelopes(300, datetime.now(UTC) - timedelta(minutes=5))
    with site.bridge("bridge-b") as bridge_b, _gateway(mosquitto) as gateway:
        with site.bridge("bridge-a"):
            wait_until(
                lambda: site.ready("bridge-a") and site.ready("bridge-b"), 60, "both bridges subscribed"
            )
        _publish(gateway, envelopes)
        wait_until(lambda: site.processed() == len(envelopes), 60, "every envelope, bridge-a stopped")
        assert bridge_b.running
    assert _stored(victoria) == _expected(envelopes)
