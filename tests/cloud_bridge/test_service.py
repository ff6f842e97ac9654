"""``careedge bridge --config``: config errors exit 2; SIGTERM stops cleanly; the state topic tells."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cloud_bridge_kit import SITE, TestClient

from careedge_common import topics
from careedge_testkit.servers import Mosquitto, VictoriaMetrics, free_port, wait_until
from cloud_bridge.service import run

CAREEDGE = Path(sys.executable).with_name("careedge")


def _write_config(path: Path, mosquitto: Mosquitto, victoria: VictoriaMetrics, api_port: int) -> Path:
    path.write_text(
        json.dumps(
            {
                "site": {"id": SITE},
                "broker": {"insecure": True, "port": mosquitto.port},
                "bridge": {
                    "sink": {"kind": "influxdb", "url": victoria.url, "org": "o", "bucket": "b"},
                    "store_path": str(path.parent / "bridge.db"),
                    "api": {"port": api_port},
                },
            }
        )
    )
    return path


def test_invalid_config_returns_2_with_the_key_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "site.yaml"
    config.write_text(
        "site: {id: s1}\nbroker: {insecure: true}\nbridge: {store_path: /tmp/x.db, batch_size: 0}\n"
    )
    assert run(config) == 2
    errors = capsys.readouterr().err
    assert f"{config}: bridge.sink: a value (required key)" in errors
    assert f"{config}: bridge.batch_size:" in errors


def test_config_without_bridge_section_returns_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "site.yaml"
    config.write_text(
        "site: {id: s1}\nbroker: {insecure: true}\ngateway: {id: gw-1, pseudonym_secret_file: /tmp/secret}\n"
    )
    assert run(config) == 2
    assert "bridge: a 'bridge' section" in capsys.readouterr().err


def test_unreadable_token_returns_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "site.yaml"
    config.write_text(
        "site: {id: s1}\nbroker: {insecure: true}\nbridge:\n  store_path: "
        + str(tmp_path / "b.db")
        + "\n  sink: {kind: influxdb, "
        "url: 'http://127.0.0.1:1', org: o, bucket: b, token: {file: " + str(tmp_path / "missing") + "}}\n"
    )
    assert run(config) == 2
    assert "cannot read secret file" in capsys.readouterr().err


def test_unreadable_webhook_secret_returns_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "site.yaml"
    missing = tmp_path / "no-such-key"
    config.write_text(
        "site: {id: s1}\nbroker: {insecure: true}\nbridge: {store_path: "
        + str(tmp_path / "b.db")
        + ", sink: {kind: sqlite, path: "
        + str(tmp_path / "p.db")
        + "}}\nalerts: {rules: {routes: [{id: nurses, role: nurse_station, "
        "url: 'http://127.0.0.1:9/', secret_file: " + str(missing) + "}]}}\n"
    )
    assert run(config) == 2
    assert f"cannot read secret file {missing}" in capsys.readouterr().err


def test_process_says_online_then_offline_on_sigterm_and_will_on_kill(
    tmp_path: Path, mosquitto: Mosquitto, victoria: VictoriaMetrics
) -> None:
    api_port = free_port()
    config = _write_config(tmp_path / "site.yaml", mosquitto, victoria, api_port)
    state = TestClient(mosquitto, topics.bridge_state(SITE))

    def states_until(expected: bytes) -> None:
        while state.next_message().payload != expected:
            pass

    bridge = subprocess.Popen([str(CAREEDGE), "bridge", "--config", str(config)])
    try:
        states_until(b"online")
        wait_until(lambda: _health_ok(api_port), 10, "the API")
        bridge.send_signal(signal.SIGTERM)
        assert bridge.wait(15) == 0
        states_until(b"offline")
        bridge = subprocess.Popen([str(CAREEDGE), "bridge", "--config", str(config)])
        states_until(b"online")
        bridge.kill()
        bridge.wait(15)
        states_until(b"offline")
    finally:
        if bridge.poll() is None:
            bridge.kill()
            bridge.wait(15)
        state.close()
    retained = TestClient(mosquitto, topics.bridge_state(SITE))
    message = retained.next_message()
    assert (message.payload, message.retain) == (b"offline", True)
    retained.close()


def _health_ok(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
    except httpx.TransportError:
        return False
