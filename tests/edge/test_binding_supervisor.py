"""Session binding through the device supervisor, with the real outbox, publisher and Mosquitto, the
real ID-reader driver on a pty fed by the reader simulator, and the edge's real HTTP app.

The blood-pressure cuff is an in-test object implementing ``drivers.contract.DeviceDriver``. That is
acceptable here only because the first device without a user field, the BLE cuff, has no driver yet
(another engineer is writing it); once it exists these tests should drive it instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from careedge_common.config import SiteConfig
from careedge_common.envelope import Envelope, Observation, utc_now
from careedge_common.pseudonym import Pseudonymiser
from careedge_testkit.mqtt_capture import MqttCapture
from careedge_testkit.servers import Mosquitto
from careedge_testkit.tokens import access_config, role_headers
from drivers.contract import InboundMessage, Reading
from edge.api import create_app
from edge.api_access import audit_requests, edge_guard
from edge.drivers_factory import make_identification_source
from edge.envelopes import EnvelopeFactory
from edge.group_commit import GroupCommit
from edge.kiosk_station import KioskStation
from edge.metrics import EdgeMetrics
from edge.outbox import Outbox
from edge.publisher import Publisher
from edge.reader_supervisor import ReaderSupervisor
from edge.residents import load_roster
from edge.supervisor import DeviceSupervisor
from firmware_sim.id_reader import IdReaderSimulator

SITE, GATEWAY, CUFF = "home-a", "gw-1", "cuff-1"
AUTHORITY = "SUNRISE_CARE"
WANG_ID, LI_ID, STRANGER_ID = "11010519450101234X", "CH000123", "CH999999"
WANG, LI = "王秀英", "李建国"
THRESHOLDS = [{"code": "8480-6", "yellow_above": 139, "red_above": 180}]
WAIT_S = 20.0


class CuffMessage:
    """One cuff indication; the test awaits the edge's answer."""

    def __init__(self, readings: Sequence[Reading]) -> None:
        self.readings = tuple(readings)
        self.answered = asyncio.Event()
        self.verdict: str | None = None

    async def accept(self) -> None:
        self.verdict = "accepted"
        self.answered.set()

    async def reject(self, reason: str) -> None:
        self.verdict = f"rejected: {reason}"
        self.answered.set()


class FakeCuff:
    """A cuff without a user field (see the module docstring for why it is a test object)."""

    device_id = CUFF

    def __init__(self) -> None:
        self._queue: asyncio.Queue[CuffMessage] = asyncio.Queue()

    async def open(self) -> None:
        return None

    async def messages(self) -> AsyncIterator[InboundMessage]:
        while True:
            yield await self._queue.get()

    async def close(self) -> None:
        return None

    async def indicate(self, *readings: Reading) -> str:
        message = CuffMessage(readings)
        await self._queue.put(message)
        await asyncio.wait_for(message.answered.wait(), WAIT_S)
        assert message.verdict is not None
        return message.verdict


def bp(measured_at: datetime, systolic: int, diastolic: int, ref: str, subject: str | None = None) -> Reading:
    return Reading(
        device_id=CUFF,
        measured_at=measured_at,
        subject=subject,
        observations=(
            Observation(code="8480-6", name="Systolic blood pressure", value=systolic, unit="mm[Hg]"),
            Observation(code="8462-4", name="Diastolic blood pressure", value=diastolic, unit="mm[Hg]"),
        ),
        source_ref=ref,
    )


async def until(condition: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    """Poll ``condition`` on the loop (the publisher needs the loop, so no blocking waits here)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := condition()):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)
    return result


@dataclass
class Edge:
    station: KioskStation
    outbox: Outbox
    cuff: FakeCuff
    reader: IdReaderSimulator
    http: httpx.AsyncClient
    capture: MqttCapture
    pseudonymiser: Pseudonymiser
    metrics: EdgeMetrics

    def subject(self, resident_id: str) -> str:
        return self.pseudonymiser.subject(resident_id, AUTHORITY)

    async def scan(self, resident_id: str, expected: str | None) -> None:
        """Present a card at the reader and wait until the kiosk shows who ``expected`` is (None: nobody)."""
        self.reader.scan(resident_id)
        await until(lambda: self._current() == expected, f"the session of {expected}")

    def _current(self) -> str | None:
        current = self.station.sessions.current()
        return None if current is None else current.subject

    def vitals(self) -> list[Envelope]:
        return [
            Envelope.model_validate_json(m.payload) for m in self.capture.messages if "/vitals/" in m.topic
        ]

    async def get(self, path: str) -> Any:
        response = await self.http.get(path)
        assert response.status_code == 200, response.text
        return response.json()


def _reader_up(metrics: EdgeMetrics) -> bool:
    return metrics.registry.get_sample_value("careedge_edge_device_up", {"device": "reader-1"}) == 1


@contextlib.asynccontextmanager
async def running_edge(tmp_path: Path, mosquitto: Mosquitto) -> AsyncIterator[Edge]:
    roster_file = tmp_path / "residents.csv"
    roster_file.write_text(f"resident_id,display_name\n{WANG_ID},{WANG}\n{LI_ID},{LI}\n", encoding="utf-8")
    pseudonymiser = Pseudonymiser(secrets.token_bytes(32))
    with IdReaderSimulator(link=tmp_path / "reader.tty") as reader:
        config = SiteConfig.model_validate(
            {
                "site": {"id": SITE},
                "broker": {"insecure": True, "port": mosquitto.port, "keepalive_s": 5},
                "gateway": {
                    "id": GATEWAY,
                    "data_dir": str(tmp_path / "data"),
                    "pseudonym_secret_file": "/unused",
                    "kiosk": {"residents_file": str(roster_file), "identifier_authority": AUTHORITY},
                    "api": {"port": 9101, "access": access_config(tmp_path)},
                },
                "devices": [{"id": "reader-1", "kind": "id_reader", "port": str(reader.device_path)}],
                "alerts": {"thresholds": THRESHOLDS},
            }
        )
        assert config.gateway is not None
        db_path = tmp_path / "data" / "edge.db"
        metrics = EdgeMetrics()
        outbox = Outbox(db_path)
        publisher = Publisher(config, outbox, metrics)
        envelopes = EnvelopeFactory(SITE, GATEWAY)
        roster = load_roster(roster_file, pseudonymiser, AUTHORITY)
        station = KioskStation(
            config, db_path, outbox, envelopes, roster, pseudonymiser, metrics, publisher.notify
        )
        cuff = FakeCuff()
        supervisor = DeviceSupervisor(
            cuff,
            GroupCommit(outbox, metrics.outbox_commits),
            envelopes,
            metrics,
            publisher.notify,
            station.binder,
            session_bound=True,
        )
        source = make_identification_source(
            config.devices[0], pseudonymiser=pseudonymiser, authority=AUTHORITY, on_rejected=lambda _: None
        )
        readers = ReaderSupervisor(source, station.identified, metrics)
        guard = edge_guard(config.gateway.api.access, metrics)
        audit = audit_requests(station.audit, utc_now)
        app = create_app(metrics, lambda: {"mqtt_connected": True}, guard, audit, station.routers)
        with MqttCapture(mosquitto.port, [f"careedge/v1/{SITE}/#"]) as capture:
            publisher.start()
            tasks = [
                asyncio.create_task(run())
                for run in (publisher.run, station.run, supervisor.run, readers.run)
            ]
            transport = httpx.ASGITransport(app=app)
            try:
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://edge", headers=role_headers(tmp_path)
                ) as http:
                    await until(lambda: _reader_up(metrics), "the reader port open")
                    yield Edge(station, outbox, cuff, reader, http, capture, pseudonymiser, metrics)
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await publisher.stop()
                station.close()
                outbox.close()


async def test_two_residents_one_after_the_other_late_cuff_indication_lands_on_the_first(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    async with running_edge(tmp_path, mosquitto) as edge:
        wang, li = edge.subject(WANG_ID), edge.subject(LI_ID)
        await edge.scan(WANG_ID, wang)
        wang_measured = utc_now()
        wang_late = bp(wang_measured, 165, 98, "cuff-record-1")
        await edge.scan(LI_ID, li)
        assert await edge.cuff.indicate(wang_late) == "accepted", (
            "Wang's indication arrives after Li logged in"
        )
        li_measured = utc_now()
        assert await edge.cuff.indicate(bp(li_measured, 118, 76, "cuff-record-2")) == "accepted"
        await until(lambda: len(edge.vitals()) == 2, "both readings on the broker")
        page = await edge.get("/kiosk/state")
        audit = await edge.get("/audit")
        unbound = await edge.get("/unbound")

    by_time = {envelope.measured_at: envelope for envelope in edge.vitals()}
    assert by_time[wang_measured].subject == wang
    assert by_time[li_measured].subject == li
    assert [o.value for o in by_time[wang_measured].obs] == [165, 98]
    assert page["session"]["display_name"] == LI
    assert sorted(row["value"] for row in page["results"]) == [76, 118], (
        "Wang's late result is not on Li's page"
    )
    assert [row["band"] for row in page["results"] if row["code"] == "8480-6"] == ["green"]
    assert [(e["event"], e["subject"], e["reason"]) for e in reversed(audit["entries"])] == [
        ("session_started", wang, None),
        ("session_ended", wang, "replaced"),
        ("session_started", li, None),
    ]
    assert unbound["readings"] == []


async def test_reading_without_session_is_unbound_until_staff_assign_it_and_every_step_is_audited(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    async with running_edge(tmp_path, mosquitto) as edge:
        wang, li = edge.subject(WANG_ID), edge.subject(LI_ID)
        measured = utc_now()
        assert await edge.cuff.indicate(bp(measured, 150, 92, "cuff-record-7")) == "accepted"
        (listed,) = (await edge.get("/unbound"))["readings"]
        assert (listed["reason"], listed["subject"], listed["device"]) == ("no_session", None, CUFF)
        reading_id = listed["reading_id"]

        first = await edge.http.post(
            f"/unbound/{reading_id}/assign", json={"subject": wang, "staff": "nurse-zhang"}
        )
        second = await edge.http.post(
            f"/unbound/{reading_id}/assign", json={"subject": li, "staff": "nurse-zhang"}
        )
        same = await edge.http.post(
            f"/unbound/{reading_id}/assign", json={"subject": li, "staff": "nurse-zhang"}
        )
        stranger = edge.subject(STRANGER_ID)
        unknown = await edge.http.post(
            f"/unbound/{reading_id}/assign", json={"subject": stranger, "staff": "z"}
        )
        missing = await edge.http.post(
            "/unbound/01HZZZZZZZZZZZZZZZZZZZZZZZ/assign", json={"subject": li, "staff": "z"}
        )
        await until(lambda: len(edge.vitals()) == 3, "original and two corrections on the broker")
        waiting = (await edge.get("/unbound"))["readings"]
        everything = (await edge.get("/unbound?include_assigned=true"))["readings"]
        trail = (await edge.get(f"/audit?reading_id={reading_id}"))["entries"]
        residents = (await edge.get("/residents"))["residents"]

    assert [r.status_code for r in (first, second, same, unknown, missing)] == [200, 200, 409, 422, 404]
    original, correction, recorrection = sorted(edge.vitals(), key=lambda e: e.seq)
    assert (original.id, original.subject, original.historical, original.supersedes) == (
        reading_id,
        None,
        False,
        None,
    )
    assert first.json()["envelope_id"] == correction.id
    assert (correction.subject, correction.historical, correction.supersedes) == (wang, True, original.id)
    assert (recorrection.subject, recorrection.supersedes) == (li, correction.id)
    for fixed in (correction, recorrection):
        assert (fixed.measured_at, fixed.obs, fixed.device) == (original.measured_at, original.obs, CUFF)
        assert fixed.seq > original.seq
    assert waiting == []
    assert (everything[0]["subject"], everything[0]["latest_id"]) == (li, recorrection.id)
    assert everything[0]["assigned_by"] == "staff:nurse-zhang"
    assert [
        (e["event"], e["actor"], e["previous_subject"], e["subject"], e["envelope_id"]) for e in trail
    ] == [
        ("reassigned", "staff:nurse-zhang", wang, li, recorrection.id),
        ("assigned", "staff:nurse-zhang", None, wang, correction.id),
        ("unbound_recorded", "edge", None, None, None),
    ]
    assert {r["subject"]: r["display_name"] for r in residents} == {wang: WANG, li: LI}


async def test_wrong_device_clock_own_subjects_unknown_cards_and_resends_never_guess(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    async with running_edge(tmp_path, mosquitto) as edge:
        wang, li = edge.subject(WANG_ID), edge.subject(LI_ID)
        await edge.scan(WANG_ID, wang)
        now = utc_now()
        stale = bp(now - timedelta(hours=1), 120, 80, "stale")
        ahead = bp(now + timedelta(hours=1), 121, 81, "ahead")
        own = bp(now, 122, 82, "own", subject=li)
        bound = bp(now, 123, 83, "bound")
        assert await edge.cuff.indicate(stale, ahead, own, bound) == "accepted"
        await edge.scan(STRANGER_ID, None)
        assert await edge.cuff.indicate(bound) == "accepted", "a resend after the session ended"
        stranger_measures = bp(utc_now(), 124, 84, "after-stranger")
        assert await edge.cuff.indicate(stranger_measures) == "accepted"
        await until(lambda: len(edge.vitals()) == 5, "five distinct readings")
        unbound = {r["reading_id"]: r["reason"] for r in (await edge.get("/unbound"))["readings"]}
        page = await edge.get("/kiosk/state")

    subjects = {int(e.obs[0].value): e.subject for e in edge.vitals()}
    assert subjects == {120: None, 121: None, 122: li, 123: wang, 124: None}
    reasons = {int(e.obs[0].value): unbound.get(e.id) for e in edge.vitals()}
    assert reasons == {120: "no_session", 121: "future_time", 122: None, 123: None, 124: "no_session"}
    assert page["session"] is None
    assert page["notice"]["kind"] == "unknown_card"
    assert page["results"] == []


@pytest.mark.parametrize("body", [b"not json", b'{"code": 5}', b'{"code": "CH\\u0007001"}', b"{}"])
async def test_page_scan_rejects_bad_bodies_without_echoing_them(
    mosquitto: Mosquitto, tmp_path: Path, body: bytes
) -> None:
    async with running_edge(tmp_path, mosquitto) as edge:
        response = await edge.http.post("/kiosk/session", content=body)
        assert edge.station.sessions.current() is None
    assert response.status_code == 400
    assert "CH" not in response.text
