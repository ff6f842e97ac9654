"""A simulated cabinet on Modbus TCP and an edge process configured to drive it."""

from __future__ import annotations

import json
import secrets
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.publish as publish

from careedge_common import topics
from careedge_testkit.processes import write_config
from careedge_testkit.servers import LOOPBACK, free_port
from careedge_testkit.tokens import access_config
from drivers.modbus.profile import load_profile
from firmware_sim.cabinet.model import CabinetModel
from firmware_sim.cabinet.server import CabinetSimulator

SITE, GATEWAY, CABINET = "home-c", "gw-1", "cab-1"
SUBJECT = "s-" + "d" * 32
PROFILES = Path(__file__).resolve().parents[2] / "config" / "profiles"
SIM_PROFILE = PROFILES / "sim-cabinet.yaml"


@contextmanager
def simulated_cabinet(
    *, resident_doses: int | None = None, relock_after_s: float = 5.0
) -> Iterator[CabinetSimulator]:
    """``resident_doses``: a scripted resident takes that many doses from every released drawer."""
    model = CabinetModel(load_profile(SIM_PROFILE), relock_after_s=relock_after_s, seed=7)
    model.resident_doses = resident_doses
    simulator = CabinetSimulator(model, tcp_port=free_port())
    with simulator:
        yield simulator


def edge_config(
    tmp_path: Path,
    broker: int,
    cabinet: CabinetSimulator,
    api: int,
    cabinet_settings: dict[str, Any] | None = None,
) -> Path:
    secret = tmp_path / "secret.key"
    if not secret.exists():
        secret.write_bytes(secrets.token_bytes(32))
    port = int(cabinet.endpoint.rsplit(":", 1)[1])
    return write_config(
        tmp_path / "edge.yaml",
        {
            "site": {"id": SITE, "timezone": "Asia/Shanghai"},
            "broker": {"port": broker, "keepalive_s": 5, "insecure": True},
            "gateway": {
                "id": GATEWAY,
                "data_dir": str(tmp_path / "data"),
                "pseudonym_secret_file": str(secret),
                "api": {"port": api, "access": access_config(tmp_path)},
                "cabinet": {"check_interval_s": 0.1, **(cabinet_settings or {})},
            },
            "devices": [
                {
                    "id": CABINET,
                    "kind": "modbus_cabinet",
                    "transport": "modbus_tcp",
                    "modbus": {
                        "profile": str(SIM_PROFILE),
                        "host": LOOPBACK,
                        "tcp_port": port,
                        "poll_interval_s": 0.5,
                        "timeout_s": 0.5,
                        "retries": 1,
                    },
                }
            ],
        },
    )


def dispense_command(command_id: str, slot: int, *, minutes: float = 30) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "command_id": command_id,
        "subject": SUBJECT,
        "cabinet": CABINET,
        "slot": slot,
        "doses": 1,
        "window_start": (now - timedelta(minutes=1)).isoformat(),
        "window_end": (now + timedelta(minutes=minutes)).isoformat(),
    }


def send_command(broker: int, command: dict[str, Any]) -> None:
    publish.single(
        topics.cmd(SITE, GATEWAY, "dispense"),
        json.dumps(command),
        qos=1,
        hostname=LOOPBACK,
        port=broker,
    )


def midday_zone(now: datetime) -> str:
    """An IANA ``Etc/GMT±N`` zone in which ``now`` is around midday, so a daily window a few
    seconds long never straddles midnight, whenever the test runs."""
    offset = 12 - now.astimezone(UTC).hour
    offset = max(-12, min(14, offset))
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


def bridge_config(tmp_path: Path, broker: int, api: int) -> Path:
    return write_config(
        tmp_path / "bridge.yaml",
        {
            "site": {"id": SITE},
            "broker": {"port": broker, "keepalive_s": 5, "insecure": True},
            "bridge": {
                "client_id": "bridge-cabinet-test",
                "sink": {"kind": "sqlite", "path": str(tmp_path / "points.db")},
                "store_path": str(tmp_path / "bridge.db"),
                "api": {"port": api, "access": access_config(tmp_path)},
                "batch_wait_ms": 20,
            },
        },
    )


def bridge_events(port: int, event: str, nurse: dict[str, str]) -> list[dict[str, Any]]:
    """The bridge's stored cabinet events of one kind, oldest first; none while its API is not up.
    ``nurse``: the header of a nurse's token (``careedge_testkit.tokens.role_headers``)."""
    request = urllib.request.Request(f"http://{LOOPBACK}:{port}/cabinet-events", headers=nurse)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - the Request above is http://
            events = json.loads(response.read())["events"]
    except OSError:
        return []
    return [e for e in reversed(events) if e["data"]["event"] == event]


def bridge_up(port: int) -> bool:
    """The bridge answers and its MQTT session (with its subscriptions) is up: events published
    from now on reach it."""
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/health", timeout=5) as response:
            return bool(json.loads(response.read())["mqtt_connected"])
    except OSError:
        return False
