"""The first path end to end, with real parts only: kiosk simulator on a pty -> edge -> Mosquitto ->
bridge -> VictoriaMetrics (InfluxDB v2 write API), each a real process on loopback."""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
import urllib.request
from pathlib import Path
from typing import Any

from careedge_common.pseudonym import Pseudonymiser
from careedge_testkit.mqtt_capture import MqttCapture
from careedge_testkit.processes import Daemon, write_config
from careedge_testkit.servers import Mosquitto, VictoriaMetrics, free_port, wait_until
from careedge_testkit.tokens import access_config, role_headers
from firmware_sim.kiosk import KioskSimulator, MeasurementKind, MessageRecord, UnitsMode

SITE, GATEWAY, DEVICE = "home-e2e", "gw-1", "kiosk-1"
FACILITY = "SUNRISE_CARE"
"""The simulator's assigning authority in PID-3.4, part of the pseudonym's input."""
THRESHOLDS = [
    {"code": "8480-6", "yellow_above": 139, "red_above": 180},
    {"code": "8462-4", "yellow_above": 89, "red_above": 120},
]


class Site:
    """Config files for one edge and one bridge of a site, written where the test keeps its files."""

    def __init__(
        self,
        tmp_path: Path,
        broker: Mosquitto,
        tsdb: VictoriaMetrics,
        kiosk: KioskSimulator,
        *,
        gateway: dict[str, Any] | None = None,
        bridge: dict[str, Any] | None = None,
    ) -> None:
        """``gateway`` and ``bridge``: settings added to those sections of the configs."""
        secret = tmp_path / "site.key"
        secret.write_bytes(secrets.token_bytes(32))
        self.pseudonymiser = Pseudonymiser(secret.read_bytes())
        token = tmp_path / "influx.token"
        token.write_text("not-checked-by-victoria-metrics")
        self.bridge_api = free_port()
        self.edge_api = free_port()
        self.headers = role_headers(tmp_path)
        self.store_path = tmp_path / "bridge" / "bridge.db"
        common: dict[str, Any] = {
            "site": {"id": SITE, "timezone": "Asia/Shanghai"},
            "broker": {"insecure": True, "port": broker.port, "keepalive_s": 5},
            "alerts": {"thresholds": THRESHOLDS},
        }
        self.edge_config = write_config(
            tmp_path / "edge.yaml",
            {
                **common,
                "gateway": {
                    "id": GATEWAY,
                    "data_dir": str(tmp_path / "edge"),
                    "pseudonym_secret_file": str(secret),
                    "api": {"port": self.edge_api, "access": access_config(tmp_path)},
                    **(gateway or {}),
                },
                "devices": [
                    {"id": DEVICE, "kind": "hl7_kiosk", "port": str(kiosk.device_path), "ack_timeout_s": 3}
                ],
            },
        )
        self.bridge_config = write_config(
            tmp_path / "bridge.yaml",
            {
                **common,
                "bridge": {
                    "client_id": "bridge-e2e",
                    "sink": {
                        "kind": "influxdb",
                        "url": tsdb.url,
                        "org": "district",
                        "bucket": "careedge",
                        "token": {"file": str(token)},
                    },
                    "store_path": str(self.store_path),
                    "api": {"port": self.bridge_api, "access": access_config(tmp_path)},
                    "batch_wait_ms": 50,
                    **(bridge or {}),
                },
            },
        )

    def get(self, path: str, port: int | None = None) -> Any:
        """GET from the bridge's API, or from the API on ``port`` (the edge's)."""
        url = f"http://127.0.0.1:{port or self.bridge_api}{path}"
        request = urllib.request.Request(url, headers=self.headers)
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - the Request above is http://
            return json.loads(response.read())

    def post(self, path: str) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.bridge_api}{path}", headers=self.headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - the Request above is http://
            return json.loads(response.read())

    def processed_count(self) -> int:
        """Envelopes the bridge recorded as processed: one per reading, however often delivered."""
        with contextlib.closing(sqlite3.connect(f"file:{self.store_path}?mode=ro", uri=True)) as db:
            return int(db.execute("SELECT count(*) FROM processed").fetchone()[0])

    def bridge_ready(self) -> bool:
        try:
            return bool(self.get("/health").get("mqtt_connected"))
        except OSError:
            return False


PointKey = tuple[str, str, int]
"""(subject, code, ms timestamp): the identity of a point in the time-series store."""


def _expected_points(site: Site, acked: list[MessageRecord]) -> dict[PointKey, tuple[float, str]]:
    """Every observation the kiosk got an AA for, keyed as the store keys it, with its canonical value."""
    expected = {
        (
            site.pseudonymiser.subject(record.resident_id, FACILITY),
            obs.code,
            int(obs.observed_at.timestamp() * 1000),
        ): (obs.canonical_value, obs.canonical_unit)
        for record in acked
        for obs in record.observations
    }
    assert len(expected) == sum(len(record.observations) for record in acked), "two readings share a key"
    return expected


def _stored_points(tsdb: VictoriaMetrics) -> tuple[dict[PointKey, tuple[float, str]], list[dict[str, Any]]]:
    series = tsdb.export(f'{{__name__="vitals_value",site="{SITE}"}}')
    points: dict[PointKey, tuple[float, str]] = {}
    for one in series:
        labels = one["metric"]
        for value, timestamp in zip(one["values"], one["timestamps"], strict=True):
            points[(labels["subject"], labels["code"], timestamp)] = (value, labels["unit"])
    return points, series


def _point_count(tsdb: VictoriaMetrics) -> int:
    return tsdb.count_points(f'{{__name__="vitals_value",site="{SITE}"}}')


def test_kiosk_readings_reach_the_tsdb_and_a_crisis_raises_a_red_alert(
    mosquitto: Mosquitto, victoria: VictoriaMetrics, tmp_path: Path
) -> None:
    kiosk = KioskSimulator(
        residents=12,
        interval=0.05,
        count=12,
        seed=11,
        units=UnitsMode.MIXED,
        abnormal=0.6,
        kinds=[
            MeasurementKind.BLOOD_PRESSURE,
            MeasurementKind.SPO2,
            MeasurementKind.TEMPERATURE,
            MeasurementKind.GLUCOSE,
            MeasurementKind.WEIGHT,
        ],
        link=tmp_path / "kiosk.tty",
        ack_timeout=3,
    )
    with kiosk:
        site = Site(tmp_path, mosquitto, victoria, kiosk)
        with (
            MqttCapture(mosquitto.port, [f"careedge/v1/{SITE}/alerts"]) as alerts_topic,
            Daemon("bridge", site.bridge_config) as bridge,
        ):
            wait_until(site.bridge_ready, 60, "bridge subscribed")
            with Daemon("edge", site.edge_config) as edge:
                assert kiosk.wait_finished(90), edge.log()
                expected = _expected_points(site, kiosk.acknowledged)
                wait_until(lambda: _point_count(victoria) >= len(expected), 60, "points stored")
            stored, series = _stored_points(victoria)
            alerts = site.get("/alerts")["alerts"]
            crisis = [
                (site.pseudonymiser.subject(record.resident_id, FACILITY), obs.code)
                for record in kiosk.acknowledged
                for obs in record.observations
                if (obs.code == "8480-6" and obs.canonical_value > 180)
                or (obs.code == "8462-4" and obs.canonical_value > 120)
            ]
            alerts_topic.wait_for(lambda msgs: len(msgs) >= len(alerts), 30, "alerts on the topic")
            published = [json.loads(m.payload) for m in alerts_topic.messages]
            first_red = next(alert for alert in alerts if alert["severity"] == "red")
            site.post(f"/alerts/{first_red['id']}/acknowledge")
            acknowledged = alerts_topic.wait_for(
                lambda msgs: [
                    document
                    for document in map(json.loads, (m.payload for m in msgs))
                    if document["id"] == first_red["id"] and document.get("transition") == "acknowledged"
                ],
                30,
                "the acknowledgement on the alerts topic",
            )
            stored_after = site.get(f"/alerts/{first_red['id']}")
        assert bridge.stop() == 0

    assert len(kiosk.acknowledged) == 12
    assert stored == expected
    assert {tuple(sorted(one["metric"])) for one in series} == {
        ("__name__", "code", "device", "gateway", "site", "subject", "unit")
    }
    assert {one["metric"]["device"] for one in series} == {DEVICE}
    assert {one["metric"]["gateway"] for one in series} == {GATEWAY}

    assert crisis, "seed 11 must produce at least one hypertensive-crisis reading"
    # One alert per resident and condition while it is open: repeated crises add to it.
    red = {(a["subject"], a["code"]) for a in alerts if a["severity"] == "red"}
    for resident_and_code in crisis:
        assert resident_and_code in red
    assert {a["id"] for a in published} == {a["id"] for a in alerts}
    # A nurse acknowledges one red alert from the kiosk's crisis reading: who and when are kept.
    assert acknowledged[0]["state"] == "acknowledged"
    assert acknowledged[0]["acknowledged_by"] == stored_after["alert"]["acknowledged_by"]
    assert [step["kind"] for step in stored_after["transitions"]][-1] == "acknowledged"


def test_broker_outage_mid_stream_loses_and_doubles_nothing(
    mosquitto: Mosquitto, victoria: VictoriaMetrics, tmp_path: Path
) -> None:
    kiosk = KioskSimulator(
        residents=40, interval=0.1, count=40, seed=5, link=tmp_path / "kiosk.tty", ack_timeout=3
    )
    with kiosk:
        site = Site(tmp_path, mosquitto, victoria, kiosk)
        with Daemon("bridge", site.bridge_config) as bridge:
            wait_until(site.bridge_ready, 60, "bridge subscribed")
            with Daemon("edge", site.edge_config) as edge:
                wait_until(lambda: len(kiosk.acknowledged) >= 10, 60, "first readings")
                mosquitto.stop()
                acked_before_restart = wait_until(
                    lambda: len(kiosk.acknowledged) >= 20 and len(kiosk.acknowledged),
                    60,
                    "readings during the outage",
                )
                mosquitto.start()
                assert kiosk.wait_finished(120), edge.log()
                expected = _expected_points(site, kiosk.acknowledged)
                try:
                    wait_until(
                        lambda: _point_count(victoria) >= len(expected),
                        120,
                        "every acknowledged reading stored",
                    )
                except TimeoutError as exc:
                    logs = {"bridge": bridge.log()[-4000:], "edge": edge.log()[-4000:]}
                    raise AssertionError(
                        f"{exc}; broker log: {mosquitto.log_path.read_text()[-2000:]}; {logs}"
                    ) from exc
                processed = site.processed_count()
        stored, _ = _stored_points(victoria)

    assert acked_before_restart >= 20
    assert len(kiosk.acknowledged) == 40
    assert stored == expected
    assert _point_count(victoria) == len(expected)
    assert processed == sum(len({obs.observed_at for obs in r.observations}) for r in kiosk.acknowledged)
