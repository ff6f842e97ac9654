"""A full outbox as a kiosk sees it: readings beyond the limit are answered AE, the kiosk keeps
and resends them, and each is accepted once the outbox has drained; none is lost or doubled."""

from __future__ import annotations

import secrets
import urllib.request
from pathlib import Path

from careedge_common.envelope import Envelope
from careedge_testkit.mqtt_capture import MqttCapture
from careedge_testkit.processes import Daemon, write_config
from careedge_testkit.servers import Mosquitto, free_port
from firmware_sim.kiosk import KioskSimulator, MeasurementKind

SITE, GATEWAY = "home-f", "gw-1"
MESSAGES = 6


def test_full_outbox_answers_ae_and_takes_the_resend_after_draining(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    kiosk = KioskSimulator(
        residents=2,
        interval=0,
        count=MESSAGES,
        seed=11,
        kinds=(MeasurementKind.BLOOD_PRESSURE,),
        link=tmp_path / "kiosk.tty",
        ack_timeout=3,
        max_resends=1000,
        resend_backoff=0.1,
    )
    secret = tmp_path / "secret.key"
    secret.write_bytes(secrets.token_bytes(32))
    api_port = free_port()
    with kiosk, MqttCapture(mosquitto.port, [f"careedge/v1/{SITE}/{GATEWAY}/vitals/#"]) as capture:
        config = {
            "site": {"id": SITE, "timezone": "Asia/Shanghai"},
            "broker": {"insecure": True, "port": mosquitto.port, "keepalive_s": 5},
            "gateway": {
                "id": GATEWAY,
                "data_dir": str(tmp_path / "data"),
                "pseudonym_secret_file": str(secret),
                "api": {"port": api_port},
                # A kiosk sending back to back outruns a drain of 2 readings/s into a 2-reading outbox.
                "outbox": {"max_pending": 2, "drain_rate_per_s": 2},
            },
            "devices": [{"id": "kiosk-1", "kind": "hl7_kiosk", "port": str(kiosk.device_path)}],
        }
        with Daemon("edge", write_config(tmp_path / "edge.yaml", config)) as edge:
            assert kiosk.wait_finished(60), edge.log()
            capture.wait_for(lambda msgs: len(msgs) >= MESSAGES, 30, "every accepted reading")
            with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/metrics", timeout=5) as response:
                metrics = response.read().decode()
        counters = kiosk.counters
        acked = kiosk.acknowledged
        published = [Envelope.model_validate_json(m.payload) for m in capture.messages]

    assert counters.nak > 0, "the kiosk was never refused: the outbox limit did not bite"
    assert counters.gave_up == 0
    assert len(acked) == MESSAGES
    assert [e.seq for e in published] == list(range(1, MESSAGES + 1))
    sent = sorted((o.observed_at, o.code, o.canonical_value) for r in acked for o in r.observations)
    stored = sorted((e.measured_at, o.code, o.value) for e in published for o in e.obs)
    assert stored == sent
    assert 'careedge_edge_inputs_rejected_total{device="kiosk-1",reason="outbox_full"}' in metrics
