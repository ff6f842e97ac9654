"""A scheduled dose nobody comes for: when its window closes the edge publishes ``missed`` through
Mosquitto, the bridge stores it, and the drawer was never released."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from careedge_testkit.edge_api import EdgeApi
from careedge_testkit.processes import Daemon, write_config
from careedge_testkit.servers import Mosquitto, free_port, wait_until
from careedge_testkit.tokens import new_token, role_headers
from firmware_sim.cabinet.model import DEFAULT_DOSES_PER_SLOT
from tests.cabinet.cabinet_kit import (
    CABINET,
    GATEWAY,
    SUBJECT,
    bridge_config,
    bridge_events,
    bridge_up,
    edge_config,
    midday_zone,
    simulated_cabinet,
)

SLOT = 5


def test_missed_dose_reaches_the_bridge_store_and_no_drawer_opens(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    now = datetime.now(UTC)
    zone = midday_zone(now)
    local = now.astimezone(ZoneInfo(zone))
    window = {
        "start": (local - timedelta(minutes=5)).strftime("%H:%M:%S"),
        "end": (local + timedelta(seconds=4)).strftime("%H:%M:%S"),
    }
    schedule = {"id": "aspirin-am", "subject": SUBJECT, "cabinet": CABINET, "slot": SLOT, "windows": [window]}
    edge_api, bridge_port = EdgeApi(free_port(), new_token(tmp_path, "nurse")), free_port()
    nurse = role_headers(tmp_path, "nurse")
    with simulated_cabinet(resident_doses=1) as cabinet:
        config = edge_config(tmp_path, mosquitto.port, cabinet, edge_api.port, {"schedules": [schedule]})
        document = yaml.safe_load(config.read_text(encoding="utf-8"))
        document["site"]["timezone"] = zone
        write_config(config, document)
        with Daemon("bridge", bridge_config(tmp_path, mosquitto.port, bridge_port)), Daemon("edge", config):
            wait_until(lambda: bridge_up(bridge_port), 20, "bridge subscribed")
            wait_until(edge_api.up, 20, "edge API up")
            doses = wait_until(
                lambda: edge_api.get("/cabinet/doses")["doses"], 20, "scheduled dose on the book"
            )
            assert (
                doses[0]["dose_id"] == f"aspirin-am:{local:%Y-%m-%d}:{window['start'][:5].replace(':', '')}"
            )
            stored = wait_until(
                lambda: bridge_events(bridge_port, "missed", nurse),
                30,
                "missed event in the bridge store",
            )
        assert cabinet.model.slot_count(SLOT) == DEFAULT_DOSES_PER_SLOT, "no drawer was released"
    (event,) = stored
    assert event["gateway"] == GATEWAY
    assert event["device"] == CABINET
    assert event["subject"] == SUBJECT
    assert event["type"] == "cabinet_event"
    assert event["data"]["slot"] == SLOT
    assert event["data"]["reason"] == "not identified in the window"
