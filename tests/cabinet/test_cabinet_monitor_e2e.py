"""Routine polling of the simulated cabinet by a real edge process, through Mosquitto into the
bridge's store: a fridge excursion that outlives an edge SIGKILL is reported once, with its first
start and its true peak; the outer door and a broken probe become events too, all audited."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from careedge.cli import app
from careedge_testkit.edge_api import EdgeApi
from careedge_testkit.processes import Daemon
from careedge_testkit.servers import LOOPBACK, Mosquitto, free_port, wait_until
from careedge_testkit.tokens import new_token, role_headers
from tests.cabinet.cabinet_kit import (
    CABINET,
    bridge_config,
    bridge_events,
    bridge_up,
    edge_config,
    simulated_cabinet,
)


def _temperature_alerts(port: int, nurse: dict[str, str]) -> list[dict[str, Any]]:
    request = urllib.request.Request(f"http://{LOOPBACK}:{port}/alerts", headers=nurse)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - the Request above is http://
            found = json.loads(response.read())["alerts"]
    except OSError:
        return []
    return [alert for alert in found if "cabinet_temperature" in json.dumps(alert)]


def _count(port: int, event: str, count: int, nurse: dict[str, str]) -> list[dict[str, Any]] | None:
    found = bridge_events(port, event, nurse)
    return found if len(found) == count else None


def test_excursion_across_a_restart_door_and_broken_probe(tmp_path: Path, mosquitto: Mosquitto) -> None:
    api, bridge_port = EdgeApi(free_port(), new_token(tmp_path, "nurse")), free_port()
    nurse = role_headers(tmp_path, "nurse")
    with (
        simulated_cabinet() as cabinet,
        Daemon("bridge", bridge_config(tmp_path, mosquitto.port, bridge_port)),
    ):
        model = cabinet.model
        config = edge_config(tmp_path, mosquitto.port, cabinet, api.port)
        edge = Daemon("edge", config).start()
        try:
            wait_until(lambda: bridge_up(bridge_port), 20, "bridge subscribed")
            wait_until(api.up, 20, "edge API up")
            model.push_temperature("fridge", 12.0)
            (started,) = wait_until(
                lambda: bridge_events(bridge_port, "temperature_excursion", nurse), 20, "start"
            )
            edge.kill()
        finally:
            edge.kill()
        model.push_temperature("fridge", 13.4)
        with Daemon("edge", config):
            wait_until(api.up, 20, "restarted edge API up")
            wait_until(lambda: _open_peak(tmp_path) == 13.4, 20, "the peak seen after the restart kept")
            model.push_temperature("fridge", 5.0)
            excursions = wait_until(
                lambda: _count(bridge_port, "temperature_excursion", 2, nurse), 20, "ended"
            )
            model.open_door()
            wait_until(lambda: bridge_events(bridge_port, "door", nurse), 20, "door opened")
            model.close_door()
            doors = wait_until(lambda: _count(bridge_port, "door", 2, nurse), 20, "door shut")
            model.fail_sensor("ambient")
            (fault,) = wait_until(lambda: bridge_events(bridge_port, "fault", nurse), 20, "probe fault")
            audit = [e["event"] for e in api.get("/audit?limit=50")["entries"]]
            health = api.get("/health")
            alerts = wait_until(lambda: _temperature_alerts(bridge_port, nurse), 20, "the excursion's alert")
    assert started["data"]["phase"] == "started"
    first, ended = excursions
    assert first["id"] == started["id"], "the start was not reported again after the restart"
    assert ended["data"]["phase"] == "ended"
    assert ended["data"]["started_at"] == started["data"]["started_at"]
    assert ended["data"]["peak_c"] == 13.4
    assert ended["data"]["limit_c"] == 8.0
    assert ended["data"]["direction"] == "above"
    assert ended["data"]["duration_s"] > 0
    assert [d["data"]["state"] for d in doors] == ["open", "closed"]
    assert fault["data"]["phase"] == "raised"
    assert fault["data"]["fault_code"] != 0
    assert all(e["device"] == CABINET for e in [*excursions, *doors, fault])
    assert audit.count("temperature_excursion") == 2
    assert health["devices"][CABINET] == "up"
    assert alerts, "the fridge excursion raised an alert at the bridge"
    assert {"door_opened", "door_closed", "cabinet_fault"} <= set(audit)
    verify = CliRunner().invoke(app, ["audit", "verify", "--data-dir", str(tmp_path / "data")])
    assert verify.exit_code == 0, verify.output


def _open_peak(tmp_path: Path) -> float | None:
    """The peak of the fridge excursion the edge keeps open in its database."""
    db = sqlite3.connect(tmp_path / "data" / "edge.db")
    try:
        row = db.execute("SELECT document FROM open_excursions WHERE compartment = 'fridge'").fetchone()
    finally:
        db.close()
    return None if row is None else float(json.loads(row[0])["peak_c"])
