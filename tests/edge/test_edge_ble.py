"""The edge daemon in-process with BLE health devices: the real ``BleHealthDriver`` under the real
supervisor, outbox, publisher, kiosk station and HTTP API, on the simulated air of
``firmware_sim.ble`` (plugged in through ``EdgeDaemon(..., ble_backends=...)``), publishing to a
real Mosquitto.

A kiosk session started on the page binds what the cuff, oximeter, thermometer and glucose meter
measure during it; without a session their readings go out with subject null and wait for staff
in ``GET /unbound``. A glucose meter's records are fetched once, and a restarted edge asks only for
newer ones because the last stored record number is kept in the outbox database.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from careedge_common.config import SiteConfig
from careedge_common.envelope import Envelope
from careedge_common.pseudonym import Pseudonymiser
from careedge_testkit.mqtt_capture import MqttCapture
from careedge_testkit.servers import Mosquitto, free_port
from careedge_testkit.tokens import access_config, role_headers
from edge.daemon import EdgeDaemon
from edge.drivers_factory import BleBackends
from edge.residents import load_roster
from firmware_sim.ble import (
    BloodPressureMonitor,
    Delay,
    GlucoseMeter,
    PulseOximeter,
    SimulatedAir,
    Thermometer,
)

SITE, GATEWAY = "home-b", "gw-ble"
ZONE = ZoneInfo("Asia/Shanghai")
AUTHORITY = "SUNRISE_CARE"
RESIDENT_ID, NAME = "CH000123", "李建国"
CUFF, OXIMETER, THERMOMETER, METER = (
    "C4:7C:8D:6A:11:01",
    "C4:7C:8D:6A:12:01",
    "C4:7C:8D:6A:14:01",
    "C4:7C:8D:6A:13:01",
)
DEVICES = [
    ("bp-1", "blood_pressure", CUFF),
    ("spo2-1", "pulse_oximeter", OXIMETER),
    ("temp-1", "thermometer", THERMOMETER),
    ("glucose-1", "glucose_meter", METER),
]
GLUCOSE_RECORD = 0x2A18
WAIT_S = 15.0


async def until(condition: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    """Poll ``condition`` on the loop (the daemon runs on it, so no blocking waits here)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := condition()):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)
    return result


async def past_second_of(moment: datetime) -> None:
    """Wait until a device clock stamp (whole seconds) of a measurement taken now falls after
    ``moment``: BLE Date Time has no fractions, so a measurement in the same second as a session
    start reads as taken before it."""
    await until(
        lambda: datetime.now(UTC).replace(microsecond=0) > moment, f"the second after {moment.isoformat()}"
    )


def site_config(
    tmp_path: Path, broker: int, api: int, residents: tuple[tuple[str, str], ...] = ((RESIDENT_ID, NAME),)
) -> SiteConfig:
    secret = tmp_path / "secret.key"
    if not secret.exists():
        secret.write_bytes(secrets.token_bytes(32))
    roster = tmp_path / "residents.csv"
    rows = "".join(f"{resident_id},{name}\n" for resident_id, name in residents)
    roster.write_text(f"resident_id,display_name\n{rows}", encoding="utf-8")
    return SiteConfig.model_validate(
        {
            "site": {"id": SITE, "timezone": ZONE.key},
            "broker": {"insecure": True, "port": broker, "keepalive_s": 5},
            "gateway": {
                "id": GATEWAY,
                "data_dir": str(tmp_path / "data"),
                "pseudonym_secret_file": str(secret),
                "api": {"port": api, "access": access_config(tmp_path)},
                "kiosk": {"residents_file": str(roster), "identifier_authority": AUTHORITY},
                "ble": {"max_connections_per_adapter": 2},
            },
            "devices": [
                {
                    "id": device_id,
                    "kind": "ble_health",
                    "transport": "ble",
                    "profile": profile,
                    "addresses": [address],
                }
                for device_id, profile, address in DEVICES
            ],
        }
    )


@dataclass
class RunningEdge:
    daemon: EdgeDaemon
    http: httpx.AsyncClient
    capture: MqttCapture
    pseudonymiser: Pseudonymiser

    def resident(self) -> str:
        return self.pseudonymiser.subject(RESIDENT_ID, AUTHORITY)

    def vitals(self, device: str | None = None) -> list[Envelope]:
        envelopes = [
            Envelope.model_validate_json(m.payload) for m in self.capture.messages if "/vitals/" in m.topic
        ]
        return [e for e in envelopes if device is None or e.device == device]

    async def post(self, path: str, document: dict[str, Any] | None = None) -> Any:
        response = await self.http.post(path, json=document or {})
        assert response.status_code == 200, response.text
        return response.json()

    async def get(self, path: str) -> Any:
        response = await self.http.get(path)
        assert response.status_code == 200, response.text
        return response.json()


@contextlib.asynccontextmanager
async def running_edge(
    tmp_path: Path,
    broker: Mosquitto,
    air: SimulatedAir,
    residents: tuple[tuple[str, str], ...] = ((RESIDENT_ID, NAME),),
) -> AsyncIterator[RunningEdge]:
    api = free_port()
    config = site_config(tmp_path, broker.port, api, residents)
    assert config.gateway is not None
    pseudonymiser = Pseudonymiser((tmp_path / "secret.key").read_bytes())
    roster = load_roster(config.gateway.kiosk.residents_file or Path(), pseudonymiser, AUTHORITY)
    daemon = EdgeDaemon(
        config, pseudonymiser, roster, ble_backends=BleBackends(air.client_backend, air.scanner_backend)
    )
    serving = asyncio.create_task(daemon.serve())
    capture = MqttCapture(broker.port, [f"careedge/v1/{SITE}/{GATEWAY}/vitals/#"])
    await asyncio.to_thread(capture.start)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{api}", timeout=5, headers=role_headers(tmp_path)
        ) as http:
            edge = RunningEdge(daemon, http, capture, pseudonymiser)
            await until(lambda: daemon.publisher.connected, "the publisher to connect")
            await until(_api_answers(http), "the edge API")
            yield edge
    finally:
        capture.stop()
        daemon.stop()
        await asyncio.wait_for(serving, WAIT_S)


def _api_answers(http: httpx.AsyncClient) -> Callable[[], bool]:
    """A condition for ``until`` that probes ``GET /health`` in the background."""
    probe: dict[str, asyncio.Task[httpx.Response]] = {}

    def answered() -> bool:
        task = probe.get("task")
        if task is not None and task.done():
            if task.exception() is None and task.result().status_code == 200:
                return True
            task = None
        if task is None:
            probe["task"] = asyncio.ensure_future(http.get("/health"))
        return False

    return answered


async def test_a_kiosk_session_binds_ble_readings_and_without_one_they_wait_unbound(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    air = SimulatedAir()
    cuff = air.add(BloodPressureMonitor(CUFF, zone=ZONE))
    oximeter = air.add(PulseOximeter(OXIMETER, zone=ZONE))
    thermometer = air.add(Thermometer(THERMOMETER, zone=ZONE))
    meter = air.add(GlucoseMeter(METER, zone=ZONE))
    try:
        async with running_edge(tmp_path, mosquitto, air) as edge:
            started = await edge.post("/kiosk/session", {"code": RESIDENT_ID})
            assert started["outcome"] == "started"
            session_start = datetime.fromisoformat(started["state"]["session"]["started_at"])
            await past_second_of(session_start)

            cuff.measure(128, 84, 72, cuff_pressures=[60, 120, 160])
            oximeter.spot_check(97, 66)
            thermometer.measure(36.8)
            meter.measure(6.1)
            bound = await until(
                lambda: (found := edge.vitals()) and len(found) >= 4 and found,
                "four envelopes from the BLE devices",
            )

            by_device = {envelope.device: envelope for envelope in bound}
            assert sorted(by_device) == sorted(device_id for device_id, _, _ in DEVICES)
            assert {envelope.subject for envelope in bound} == {edge.resident()}
            assert {(o.code, o.value) for o in by_device["bp-1"].obs} >= {("8480-6", 128), ("8462-4", 84)}
            assert {(o.code, o.value) for o in by_device["spo2-1"].obs} >= {("59408-5", 97)}
            assert [(o.code, o.value) for o in by_device["temp-1"].obs] == [("8310-5", 36.8)]
            assert [(o.code, o.value) for o in by_device["glucose-1"].obs] == [("2339-0", 6.1)]
            assert await edge.get("/unbound") == {"readings": []}

            ended = await edge.post("/kiosk/logout")
            assert ended["ended"] is True
            await past_second_of(datetime.now(UTC))
            cuff.measure(141, 92, 80)
            thermometer.measure(37.4)
            unbound = await until(
                lambda: (found := edge.vitals()) and len(found) >= 6 and found[4:],
                "two envelopes after the session",
            )

            assert sorted(envelope.device for envelope in unbound) == ["bp-1", "temp-1"]
            assert [envelope.subject for envelope in unbound] == [None, None]
            waiting = (await edge.get("/unbound"))["readings"]
            assert sorted((r["device"], r["reason"]) for r in waiting) == [
                ("bp-1", "no_session"),
                ("temp-1", "no_session"),
            ]
            assert {r["latest_id"] for r in waiting} == {envelope.id for envelope in unbound}
    finally:
        air.shut_down()


async def test_glucose_records_are_fetched_once_and_a_restarted_edge_asks_only_for_newer(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    air = SimulatedAir()
    meter = air.add(GlucoseMeter(METER, zone=ZONE, seed=5))
    history = meter.fill_history(3)

    def records_sent() -> int:
        return [uuid for uuid, _ in meter.delivered].count(GLUCOSE_RECORD)

    try:
        async with running_edge(tmp_path, mosquitto, air) as edge:
            first = await until(
                lambda: len(found := edge.vitals("glucose-1")) >= 3 and found, "three glucose records"
            )
            await until(lambda: not meter.connected, "the driver to hang up after the transfer")
            assert [e.measured_at for e in first] == [
                record.device_time.replace(tzinfo=ZONE) for record in history if record.device_time
            ]
            assert records_sent() == 3

        async with running_edge(tmp_path, mosquitto, air) as edge:
            meter.measure(7.2)
            later = await until(lambda: edge.vitals("glucose-1"), "the new glucose record")
            await until(lambda: not meter.connected, "the driver to hang up after the transfer")

            assert [[(o.code, o.value) for o in e.obs] for e in later] == [[("2339-0", 7.2)]]
            assert records_sent() == 4, "the restarted edge asked only for records after the third"
            assert edge.daemon.glucose.last("glucose-1", METER) == 4
    finally:
        air.shut_down()


async def test_a_late_cuff_indication_stays_with_the_resident_who_measured(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """Resident A measures, the cuff's indication is slow, B scans in before it arrives: the
    reading was taken during A's session, so it is A's; B's own reading is B's."""
    other_id, other_name = "CH000456", "王秀英"
    air = SimulatedAir()
    cuff = air.add(BloodPressureMonitor(CUFF, zone=ZONE))
    thermometer = air.add(Thermometer(THERMOMETER, zone=ZONE))
    residents = ((RESIDENT_ID, NAME), (other_id, other_name))
    async with running_edge(tmp_path, mosquitto, air, residents) as edge:
        first = await edge.post("/kiosk/session", {"code": RESIDENT_ID})
        await past_second_of(datetime.fromisoformat(first["state"]["session"]["started_at"]))
        cuff.inject(Delay(0x2A35, 3.0))
        cuff.measure(150, 92, 77)
        await past_second_of(datetime.now(UTC))
        second = await edge.post("/kiosk/session", {"code": other_id})
        assert second["outcome"] == "started"
        await past_second_of(datetime.fromisoformat(second["state"]["session"]["started_at"]))
        thermometer.measure(36.6)
        await until(
            lambda: len(edge.vitals("bp-1")) >= 1 and len(edge.vitals("temp-1")) >= 1, "both readings"
        )
        [pressure] = edge.vitals("bp-1")
        [temperature] = edge.vitals("temp-1")
        assert temperature.received_at < pressure.received_at, (
            "the cuff's reading must arrive after B's start"
        )
        assert pressure.subject == edge.resident()
        assert temperature.subject == edge.pseudonymiser.subject(other_id, AUTHORITY)
