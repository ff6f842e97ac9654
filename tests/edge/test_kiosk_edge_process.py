"""The edge daemon as a process with the HL7 kiosk simulator and the ID-reader simulator on ptys:
a card starts the session, the kiosk's readings (which carry their own subject) appear on the
page with their band, "call nurse" publishes a ``call`` envelope, and nothing identifying leaves."""

from __future__ import annotations

import json
import secrets
import urllib.request
from pathlib import Path
from typing import Any

from careedge_common.config import Threshold
from careedge_common.envelope import Envelope
from careedge_common.pseudonym import Pseudonymiser
from careedge_testkit.mqtt_capture import MqttCapture
from careedge_testkit.processes import Daemon, write_config
from careedge_testkit.servers import Mosquitto, free_port, wait_until
from careedge_testkit.tokens import access_config, role_headers
from firmware_sim.id_reader import IdReaderSimulator
from firmware_sim.kiosk import KioskSimulator, MeasurementKind, Resident

SITE, GATEWAY = "home-k", "gw-1"
FACILITY = "SUNRISE_CARE"
"""The kiosk simulator's PID-3.4; the station pseudonymises cards with the same authority."""
RESIDENT = Resident("11010519450101234X", "王", "秀英")
NAME = "王秀英"
STRANGER_ID = "CH999999"
THRESHOLDS = [
    {"code": "8480-6", "yellow_above": 139, "red_above": 180, "yellow_below": 90, "red_below": 70},
    {"code": "8462-4", "yellow_above": 89, "red_above": 120},
]
BANDS = {t["code"]: Threshold.model_validate(t) for t in THRESHOLDS}


class EdgeApi:
    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.headers = headers

    def get(self, path: str) -> Any:
        return json.loads(self.text(path))

    def text(self, path: str) -> str:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=self.headers)
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - the Request above is http://
            return str(response.read().decode())

    def post(self, path: str, document: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=json.dumps(document or {}).encode(),
            headers={"Content-Type": "application/json", **self.headers},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - the Request above is http://
            return json.loads(response.read())

    def reader_up(self) -> bool:
        try:
            return 'careedge_edge_device_up{device="reader-1"} 1.0' in self.text("/metrics")
        except OSError:
            return False


def _config(tmp_path: Path, broker: int, kiosk: KioskSimulator, reader: IdReaderSimulator, api: int) -> Path:
    secret = tmp_path / "secret.key"
    secret.write_bytes(secrets.token_bytes(32))
    roster = tmp_path / "residents.csv"
    roster.write_text(f"resident_id,display_name\n{RESIDENT.resident_id},{NAME}\n", encoding="utf-8")
    return write_config(
        tmp_path / "edge.yaml",
        {
            "site": {"id": SITE, "timezone": "Asia/Shanghai"},
            "broker": {"insecure": True, "port": broker, "keepalive_s": 5},
            "gateway": {
                "id": GATEWAY,
                "data_dir": str(tmp_path / "data"),
                "pseudonym_secret_file": str(secret),
                "api": {"port": api, "access": access_config(tmp_path)},
                "kiosk": {
                    "station": "lobby",
                    "residents_file": str(roster),
                    "identifier_authority": FACILITY,
                },
            },
            "devices": [
                {"id": "kiosk-1", "kind": "hl7_kiosk", "port": str(kiosk.device_path), "ack_timeout_s": 3},
                {
                    "id": "reader-1",
                    "kind": "id_reader",
                    "port": str(reader.device_path),
                    "id_code": {"suffix": ";"},
                },
            ],
            "alerts": {"thresholds": THRESHOLDS},
        },
    )


def test_card_session_kiosk_results_and_nurse_call(mosquitto: Mosquitto, tmp_path: Path) -> None:
    kiosk = KioskSimulator(
        residents=[RESIDENT],
        interval=0.3,
        seed=4,
        abnormal=0.5,
        kinds=[MeasurementKind.BLOOD_PRESSURE],
        link=tmp_path / "kiosk.tty",
        ack_timeout=3,
    )
    api = EdgeApi(free_port(), role_headers(tmp_path))
    reader = IdReaderSimulator(link=tmp_path / "reader.tty", suffix=";")
    with kiosk, reader, MqttCapture(mosquitto.port, [f"careedge/v1/{SITE}/#"]) as capture:
        config = _config(tmp_path, mosquitto.port, kiosk, reader, api.port)
        secret = (tmp_path / "secret.key").read_bytes()
        with Daemon("edge", config) as edge:
            wait_until(api.reader_up, 60, "the reader port open")
            reader.scan(STRANGER_ID)
            refused = wait_until(lambda: api.get("/kiosk/state")["notice"], 20, "the unknown-card notice")
            reader.scan(RESIDENT.resident_id)
            session = wait_until(lambda: api.get("/kiosk/state")["session"], 20, "the session")
            state = wait_until(
                lambda: (s := api.get("/kiosk/state"))["results"] and s, 30, "kiosk results on the page"
            )
            call = api.post("/kiosk/call")
            again = api.post("/kiosk/call")
            capture.wait_for(
                lambda msgs: any(m.topic.endswith("/call") for m in msgs), 20, "the call envelope"
            )
            logout = api.post("/kiosk/logout")
            audit = api.get("/audit")["entries"]
            page = api.text("/kiosk")
        log = edge.log()

    subject = Pseudonymiser(secret).subject(RESIDENT.resident_id, FACILITY)
    assert refused["kind"] == "unknown_card"
    assert session["display_name"] == NAME
    for row in state["results"]:
        expected = BANDS[row["code"]].band(row["value"])[0] if row["code"] in BANDS else "none"
        assert row["band"] == expected, row
        assert row["explanation"]["zh"]
        assert row["explanation"]["en"]
    (call_message,) = [m for m in capture.messages if m.topic.endswith("/call")]
    assert call_message.topic == f"careedge/v1/{SITE}/{GATEWAY}/call"
    envelope = Envelope.model_validate_json(call_message.payload)
    assert (envelope.type, envelope.subject, envelope.device, envelope.data) == (
        "call",
        subject,
        "lobby",
        {"station": "lobby"},
    )
    assert envelope.id == call["id"]
    assert again == {**call, "repeated": True}, "a second press within the repeat window is the same call"
    assert logout["ended"] is True
    assert logout["state"]["session"] is None
    events = [(e["event"], e["actor"]) for e in reversed(audit) if e["event"] != "api_request"]
    requests = [(e["actor"], e["reason"]) for e in reversed(audit) if e["event"] == "api_request"]
    assert requests == [
        ("admin:test-admin", "POST /kiosk/call 200"),
        ("admin:test-admin", "POST /kiosk/call 200"),
        ("admin:test-admin", "POST /kiosk/logout 200"),
    ]
    assert events[:3] == [
        ("card_unknown", "reader:reader-1"),
        ("session_started", "reader:reader-1"),
        ("nurse_called", "kiosk-page"),
    ]
    assert events[-1] == ("session_ended", "kiosk-page")
    vitals = [Envelope.model_validate_json(m.payload) for m in capture.messages if "/vitals/" in m.topic]
    assert vitals
    assert {e.subject for e in vitals} == {subject}
    assert "呼叫护士" in page
    wire = b"".join(m.payload for m in capture.messages).decode()
    for secret_text in (RESIDENT.resident_id, STRANGER_ID, NAME):
        assert secret_text not in wire
        assert secret_text not in log
