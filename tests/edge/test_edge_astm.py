"""An ASTM point-of-care analyzer on a pty through the edge daemon to a real Mosquitto."""

from __future__ import annotations

import secrets
from pathlib import Path

from careedge_common.envelope import Envelope
from careedge_common.pseudonym import Pseudonymiser
from careedge_testkit.mqtt_capture import MqttCapture
from careedge_testkit.processes import Daemon, write_config
from careedge_testkit.servers import Mosquitto, free_port
from firmware_sim.astm.analyzers import AnalyzerKind
from firmware_sim.astm.simulator import AstmAnalyzerSimulator

SITE, GATEWAY, AUTHORITY = "home-a", "gw-1", "SUNRISE_CARE"


def test_lipid_panel_results_published_with_the_patients_pseudonym(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    secret = secrets.token_bytes(32)
    (tmp_path / "secret.key").write_bytes(secret)
    analyzer = AstmAnalyzerSimulator(
        analyzer=AnalyzerKind.LIPID,
        count=4,
        interval=0.05,
        seed=3,
        quality_control=0.0,
        out_of_range=0.0,
        link=tmp_path / "ldx.tty",
        time_scale=0.2,
    )
    config = write_config(
        tmp_path / "edge.yaml",
        {
            "site": {"id": SITE, "timezone": "Asia/Shanghai"},
            "broker": {"insecure": True, "port": mosquitto.port},
            "gateway": {
                "id": GATEWAY,
                "data_dir": str(tmp_path / "data"),
                "pseudonym_secret_file": str(tmp_path / "secret.key"),
                "api": {"port": free_port()},
                "kiosk": {"identifier_authority": AUTHORITY},
            },
            "devices": [{"id": "ldx-1", "kind": "astm_poc", "port": str(tmp_path / "ldx.tty")}],
        },
    )
    with analyzer, MqttCapture(mosquitto.port, [f"careedge/v1/{SITE}/+/vitals/+"]) as capture:
        with Daemon("edge", config) as edge:
            assert analyzer.wait_finished(90), edge.log()
            sent = [result for transmission in analyzer.acknowledged for result in transmission.storable]
            capture.wait_for(
                lambda msgs: sum(len(Envelope.model_validate_json(m.payload).obs) for m in msgs) >= len(sent),
                30,
                "every result published",
            )
        envelopes = [Envelope.model_validate_json(m.payload) for m in capture.messages]

    assert len(analyzer.acknowledged) == 4
    pseudonymiser = Pseudonymiser(secret)
    published = sorted((e.subject, e.measured_at, o.code) for e in envelopes for o in e.obs)
    expected = sorted(
        (pseudonymiser.subject(result.resident_id, AUTHORITY), result.measured_at, result.loinc)
        for result in sent
        if result.resident_id is not None
    )
    assert published == expected
    assert {o.unit for e in envelopes for o in e.obs} <= {"mmol/L"}
    wire = b"".join(m.payload for m in capture.messages).decode()
    assert all(result.resident_id not in wire for result in sent if result.resident_id)
