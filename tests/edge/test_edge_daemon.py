"""The edge daemon as a process: a simulated kiosk on a pty, a real Mosquitto, SIGKILL and restart."""

from __future__ import annotations

import json
import secrets
import urllib.request
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from careedge_common.envelope import Envelope
from careedge_testkit.mqtt_capture import Captured, MqttCapture
from careedge_testkit.processes import Daemon, write_config
from careedge_testkit.servers import Mosquitto, free_port, wait_until
from firmware_sim.kiosk import FaultRates, KioskSimulator, MeasurementKind, UnitsMode

SITE, GATEWAY = "home-a", "gw-1"


def _edge_config(tmp_path: Path, broker_port: int, kiosks: Sequence[KioskSimulator], api_port: int) -> Path:
    secret = tmp_path / "secret.key"
    if not secret.exists():
        secret.write_bytes(secrets.token_bytes(32))
    return write_config(
        tmp_path / "edge.yaml",
        {
            "site": {"id": SITE, "timezone": "Asia/Shanghai"},
            "broker": {"insecure": True, "port": broker_port, "keepalive_s": 5},
            "gateway": {
                "id": GATEWAY,
                "data_dir": str(tmp_path / "data"),
                "pseudonym_secret_file": str(secret),
                "api": {"port": api_port},
            },
            "devices": [
                {
                    "id": f"kiosk-{number}",
                    "kind": "hl7_kiosk",
                    "port": str(kiosk.device_path),
                    "ack_timeout_s": 3,
                }
                for number, kiosk in enumerate(kiosks, start=1)
            ],
        },
    )


def _vitals(messages: list[Captured]) -> list[Envelope]:
    return [Envelope.model_validate_json(m.payload) for m in messages if "/vitals/" in m.topic]


def _states(messages: list[Captured]) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in messages if m.topic.endswith("/state")]


def test_readings_flow_with_envelopes_and_nothing_identifying(mosquitto: Mosquitto, tmp_path: Path) -> None:
    kiosk = KioskSimulator(
        residents=3,
        interval=0.05,
        count=6,
        seed=7,
        units=UnitsMode.MIXED,
        link=tmp_path / "kiosk.tty",
        ack_timeout=3,
    )
    api_port = free_port()
    with kiosk, MqttCapture(mosquitto.port, [f"careedge/v1/{SITE}/#"]) as capture:
        with Daemon("edge", _edge_config(tmp_path, mosquitto.port, [kiosk], api_port)) as edge:
            assert kiosk.wait_finished(60), edge.log()
            acked = kiosk.acknowledged
            expected_points = sum(len(record.observations) for record in acked)
            capture.wait_for(
                lambda msgs: sum(len(e.obs) for e in _vitals(msgs)) >= expected_points, 30, "all vitals"
            )
            with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/metrics", timeout=5) as response:
                metrics = response.read().decode()
            with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/health", timeout=5) as response:
                health = json.loads(response.read())
        envelopes = _vitals(capture.messages)

    assert len(acked) == 6
    assert [e.seq for e in envelopes] == list(range(1, len(envelopes) + 1))
    assert {e.boot for e in envelopes} == {1}
    assert all(e.site == SITE and e.gateway == GATEWAY and e.device == "kiosk-1" for e in envelopes)
    stored = sorted((e.measured_at, o.code, o.value, o.unit) for e in envelopes for o in e.obs)
    sent = sorted(
        (obs.observed_at, obs.code, obs.canonical_value, obs.canonical_unit)
        for record in acked
        for obs in record.observations
    )
    assert stored == sent
    converted = [o for e in envelopes for o in e.obs if o.raw is not None and o.raw.unit != o.unit]
    assert converted, "mixed units should have produced converted observations that keep the raw value"
    residents = {r.resident_id: r for r in kiosk.residents}
    subjects = {e.subject for e in envelopes}
    assert len(subjects) == len({record.resident_id for record in acked})
    wire = b"".join(m.payload for m in capture.messages).decode()
    for resident in residents.values():
        assert resident.resident_id not in wire
        assert resident.family_name + resident.given_name not in wire
    assert 'careedge_edge_readings_accepted_total{device="kiosk-1"} ' + f"{len(envelopes)}.0" in metrics
    assert health["mqtt_connected"] is True
    assert health["devices"] == {"kiosk-1": "up"}
    log = (tmp_path / "edge-edge.log").read_text()
    for resident in residents.values():
        assert resident.resident_id not in log


def test_sigkill_sends_last_will_and_restart_continues_seq(mosquitto: Mosquitto, tmp_path: Path) -> None:
    kiosk = KioskSimulator(
        residents=2, interval=0.05, count=3, seed=3, link=tmp_path / "kiosk.tty", ack_timeout=3
    )
    with kiosk, MqttCapture(mosquitto.port, [f"careedge/v1/{SITE}/#"]) as capture:
        config = _edge_config(tmp_path, mosquitto.port, [kiosk], free_port())
        edge = Daemon("edge", config).start()
        assert kiosk.wait_finished(60), edge.log()
        capture.wait_for(lambda msgs: len(_vitals(msgs)) >= 3, 30, "first boot's vitals")
        edge.kill()
        capture.wait_for(lambda msgs: _states(msgs)[-1]["status"] == "offline", 30, "last will")
        with Daemon("edge", config):
            capture.wait_for(
                lambda msgs: _states(msgs)[-1] == {**_states(msgs)[-1], "status": "online", "boot": 2},
                30,
                "second birth",
            )
        states = _states(capture.messages)
        first_boot_seqs = [e.seq for e in _vitals(capture.messages)]

    assert [s["status"] for s in states] == ["online", "offline", "online", "offline"]
    assert [s["boot"] for s in states] == [1, 1, 2, 2]
    assert states[2]["last_seq"] == max(first_boot_seqs)


def test_sigkill_while_many_kiosks_send_loses_no_acknowledged_reading(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """Kiosks sending back to back share commits; the edge is killed mid-stream, so some ACKs have
    just gone out. After a restart every reading a kiosk saw acknowledged is published, and the
    first boot's ``seq`` has no gap (a reading committed but not yet published keeps its number)."""
    kiosks = [
        KioskSimulator(
            residents=5,
            interval=0,
            seed=number,
            kinds=(MeasurementKind.BLOOD_PRESSURE,),
            link=tmp_path / f"kiosk-{number}.tty",
            ack_timeout=3,
            device_id=f"KIOSK{number}",
        )
        for number in range(1, 7)
    ]
    with ExitStack() as stack, MqttCapture(mosquitto.port, [f"careedge/v1/{SITE}/+/vitals/+"]) as capture:
        for kiosk in kiosks:
            stack.enter_context(kiosk)
        api_port = free_port()
        config = _edge_config(tmp_path, mosquitto.port, kiosks, api_port)
        edge = Daemon("edge", config).start()
        wait_until(lambda: sum(len(kiosk.acknowledged) for kiosk in kiosks) >= 120, 60, "120 ACKs")
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/metrics", timeout=5) as response:
            metrics = response.read().decode()
        edge.kill()
        for kiosk in kiosks:
            kiosk.stop()
        acked = sorted(
            (obs.observed_at, obs.code, obs.canonical_value)
            for kiosk in kiosks
            for record in kiosk.acknowledged
            for obs in record.observations
        )
        with Daemon("edge", config):
            capture.wait_for(
                lambda msgs: (
                    set(acked) <= {(e.measured_at, o.code, o.value) for e in _vitals(msgs) for o in e.obs}
                ),
                30,
                "every acknowledged reading after the restart",
            )
        first_boot = [e.seq for e in _vitals(capture.messages) if e.boot == 1]

    assert sorted(set(first_boot)) == list(range(1, max(first_boot) + 1))
    samples = {
        (sample.name, sample.labels.get("device")): sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
    }
    accepted = sum(
        value for (name, _), value in samples.items() if name == "careedge_edge_readings_accepted_total"
    )
    assert 0 < samples[("careedge_edge_outbox_commits_total", None)] < accepted, (
        "kiosks never shared a commit"
    )


def test_bad_config_stops_before_touching_devices(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bad.yaml", {"site": {"id": SITE}, "gateway": {"id": GATEWAY}})
    edge = Daemon("edge", config).start()
    assert edge.process is not None
    assert edge.process.wait(60) == 2
    assert "gateway.pseudonym_secret_file: a value (required key), found nothing" in edge.log()


@pytest.mark.parametrize("secret", [b"", b"short"])
def test_unusable_pseudonym_secret_is_a_config_error(tmp_path: Path, secret: bytes) -> None:
    (tmp_path / "secret.key").write_bytes(secret)
    config = write_config(
        tmp_path / "edge.yaml",
        {
            "site": {"id": SITE},
            "broker": {"insecure": True},
            "gateway": {"id": GATEWAY, "pseudonym_secret_file": str(tmp_path / "secret.key")},
        },
    )
    edge = Daemon("edge", config).start()
    assert edge.process is not None
    assert edge.process.wait(60) == 2
    assert "gateway.pseudonym_secret_file:" in edge.log()
    assert "Traceback" not in edge.log()


def test_faulty_kiosk_every_acknowledged_reading_published_once(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """Unplugged ports, garbled and truncated frames and lost ACKs: nothing lost, nothing doubled."""
    kiosk = KioskSimulator(
        residents=10,
        interval=0.05,
        count=15,
        seed=23,
        link=tmp_path / "kiosk.tty",
        ack_timeout=1,
        max_resends=50,
        faults=FaultRates(garbled=0.2, truncated=0.2, silence=0.0, unplug=0.2, unplug_s=0.5),
    )
    with kiosk, MqttCapture(mosquitto.port, [f"careedge/v1/{SITE}/+/vitals/+"]) as capture:
        with Daemon("edge", _edge_config(tmp_path, mosquitto.port, [kiosk], free_port())) as edge:
            assert kiosk.wait_finished(120), edge.log()
            acked = kiosk.acknowledged
            expected = sorted(
                (obs.observed_at, obs.code, obs.canonical_value)
                for record in acked
                for obs in record.observations
            )
            capture.wait_for(
                lambda msgs: sum(len(e.obs) for e in _vitals(msgs)) >= len(expected), 30, "vitals"
            )
        counters = kiosk.counters
        envelopes = _vitals(capture.messages)

    assert len(acked) == 15
    assert counters.unplugs > 0
    assert counters.garbled > 0
    assert counters.truncated > 0
    assert sorted((e.measured_at, o.code, o.value) for e in envelopes for o in e.obs) == expected
    assert len({e.id for e in envelopes}) == len(envelopes)
    assert "device kiosk-1 unavailable" in (tmp_path / "edge-edge.log").read_text()
