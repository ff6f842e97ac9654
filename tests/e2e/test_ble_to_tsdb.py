"""BLE devices at a kiosk, all the way to the time-series store: the simulated air through the real
BLE driver and edge (in-process: a bleak backend cannot cross processes), a real Mosquitto, the
bridge as a process and VictoriaMetrics. Session readings are stored under the resident's
subject; readings with no session open are stored without one (unbound), never guessed."""

from __future__ import annotations

import contextlib
import json
import secrets
import urllib.request
from datetime import datetime
from pathlib import Path

from careedge_testkit.processes import Daemon, write_config
from careedge_testkit.servers import Mosquitto, VictoriaMetrics, free_port, wait_until
from firmware_sim.ble import BloodPressureMonitor, GlucoseMeter, PulseOximeter, SimulatedAir, Thermometer
from tests.edge.test_edge_ble import (
    CUFF,
    METER,
    OXIMETER,
    RESIDENT_ID,
    SITE,
    THERMOMETER,
    ZONE,
    past_second_of,
    running_edge,
    until,
)


def _bridge_ready(api: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{api}/health", timeout=2) as response:
            return bool(json.loads(response.read()).get("mqtt_connected"))
    except OSError:
        return False


def _bridge_config(tmp_path: Path, broker: Mosquitto, tsdb: VictoriaMetrics, api: int) -> Path:
    token = tmp_path / "influx.token"
    token.write_text(secrets.token_hex(8))
    return write_config(
        tmp_path / "bridge.yaml",
        {
            "site": {"id": SITE, "timezone": ZONE.key},
            "broker": {"insecure": True, "port": broker.port, "keepalive_s": 5},
            "bridge": {
                "client_id": "bridge-ble",
                "sink": {
                    "kind": "influxdb",
                    "url": tsdb.url,
                    "org": "o",
                    "bucket": "b",
                    "token": {"file": str(token)},
                },
                "store_path": str(tmp_path / "bridge.db"),
                "api": {"port": api},
                "batch_wait_ms": 50,
            },
        },
    )


def _sorted_points(tsdb: VictoriaMetrics) -> dict[tuple[str, str], list[float]]:
    """(code, subject label or '') -> stored values, sorted."""
    stored: dict[tuple[str, str], list[float]] = {}
    for series in tsdb.export(f'{{__name__="vitals_value",site="{SITE}"}}'):
        key = (series["metric"]["code"], series["metric"].get("subject", ""))
        stored.setdefault(key, []).extend(series["values"])
    return {key: sorted(values) for key, values in stored.items()}


async def test_session_readings_stored_under_the_resident_and_others_unbound(
    tmp_path: Path, mosquitto: Mosquitto, victoria: VictoriaMetrics
) -> None:
    air = SimulatedAir()
    cuff = air.add(BloodPressureMonitor(CUFF, zone=ZONE))
    oximeter = air.add(PulseOximeter(OXIMETER, zone=ZONE))
    thermometer = air.add(Thermometer(THERMOMETER, zone=ZONE))
    meter = air.add(GlucoseMeter(METER, zone=ZONE))
    api = free_port()
    with Daemon("bridge", _bridge_config(tmp_path, mosquitto, victoria, api)) as bridge:
        wait_until(lambda: _bridge_ready(api), 60, "the bridge subscribed")
        async with running_edge(tmp_path, mosquitto, air) as edge:
            started = await edge.post("/kiosk/session", {"code": RESIDENT_ID})
            await past_second_of(datetime.fromisoformat(started["state"]["session"]["started_at"]))
            cuff.measure(186, 124, 90)
            oximeter.spot_check(95, 70)
            thermometer.measure(37.2)
            meter.measure(5.4)
            await until(lambda: len(edge.vitals()) >= 4, "the session's four readings published")
            await edge.post("/kiosk/logout")
            ended = await edge.get("/kiosk/state")
            assert ended["session"] is None
            await past_second_of(datetime.now(ZONE))
            thermometer.measure(38.1)
            await until(lambda: len(edge.vitals()) >= 5, "the unbound reading published")
            resident = edge.resident()
        expected = {
            ("8480-6", resident): [186],
            ("8462-4", resident): [124],
            ("8867-4", resident): [70, 90],
            ("59408-5", resident): [95],
            ("8310-5", resident): [37.2],
            ("2339-0", resident): [5.4],
            ("8310-5", ""): [38.1],
        }
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: _sorted_points(victoria) == expected, 60, "every reading stored")
        assert bridge.stop() == 0

    assert _sorted_points(victoria) == expected
