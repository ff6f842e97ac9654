"""A pharmacist refills a slot through the edge's API: the drawer is released, a miscount is
refused with the cabinet's own figure, the right count is written to the cabinet, the drawer must
be shut before the refill closes, and the ``refill`` event reaches the bridge's store through
Mosquitto. Every step is in the audit log, whose chain still verifies."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from careedge.cli import app
from careedge_testkit.edge_api import EdgeApi
from careedge_testkit.processes import Daemon
from careedge_testkit.servers import Mosquitto, free_port, wait_until
from careedge_testkit.tokens import new_token, role_headers
from firmware_sim.cabinet.model import DEFAULT_DOSES_PER_SLOT
from tests.cabinet.cabinet_kit import (
    CABINET,
    bridge_config,
    bridge_events,
    bridge_up,
    edge_config,
    simulated_cabinet,
)

SLOT = 2
REMOVED = 25
"""Expired doses the pharmacist takes out before refilling."""
ADDED = 20


def _drawer_seen_open(api: EdgeApi) -> bool:
    entries = api.get("/audit?limit=20")["entries"]
    return any(e["event"] == "door_opened" and e["detail"].get("drawer") == SLOT for e in entries)


def add_pharmacist(data_dir: Path, name: str) -> str:
    result = CliRunner().invoke(app, ["pharmacist", "add", "--data-dir", str(data_dir), "--name", name])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_refill_with_a_miscount_then_the_right_count(tmp_path: Path, mosquitto: Mosquitto) -> None:
    token = add_pharmacist(tmp_path / "data", "药师张")
    api, stranger = EdgeApi(free_port(), token), EdgeApi(0, "not-a-token")
    stranger.port = api.port
    bridge_port = free_port()
    nurse = role_headers(tmp_path, "nurse")
    # The audit log is the staff's: a pharmacist's token gets 403 there.
    auditor = EdgeApi(api.port, new_token(tmp_path, "technician"))
    expiry = (datetime.now(UTC) + timedelta(days=20)).date().isoformat()
    with simulated_cabinet() as cabinet:
        model = cabinet.model
        config = edge_config(tmp_path, mosquitto.port, cabinet, api.port, {"near_expiry_days": 30})
        with Daemon("bridge", bridge_config(tmp_path, mosquitto.port, bridge_port)), Daemon("edge", config):
            wait_until(lambda: bridge_up(bridge_port), 20, "bridge subscribed")
            wait_until(api.up, 20, "edge API up")
            with pytest.raises(urllib.error.HTTPError) as refused:
                stranger.get("/pharmacy/api/inventory")
            assert refused.value.code == 401
            with pytest.raises(urllib.error.HTTPError) as forbidden:
                auditor.get("/pharmacy/api/inventory")
            assert forbidden.value.code == 403, "a technician's token is not a pharmacist's"
            opened = api.post("/pharmacy/api/refills", {"cabinet": CABINET, "slot": SLOT})
            assert opened["count_before"] == DEFAULT_DOSES_PER_SLOT
            again = api.post("/pharmacy/api/refills", {"cabinet": CABINET, "slot": SLOT})
            assert again["refill_id"] == opened["refill_id"], "a repeated open is the same refill"
            refill = f"/pharmacy/api/refills/{opened['refill_id']}"
            assert model.is_unlocked(SLOT)
            model.open_drawer(SLOT)
            wait_until(lambda: _drawer_seen_open(auditor), 10, "the routine poll sees the drawer open")
            model.take_doses(SLOT, REMOVED)
            left = DEFAULT_DOSES_PER_SLOT - REMOVED
            wrong = {
                "quantity": DEFAULT_DOSES_PER_SLOT + ADDED,
                "added": ADDED,
                "lot": "L2026-07",
                "expiry": expiry,
            }
            status, answer = api.post_status(f"{refill}/record", wrong)
            assert status == 409
            assert answer["error"] == "count_mismatch"
            assert answer["cabinet_count"] == left
            assert f"the cabinet counts {left} doses in slot {SLOT}" in answer["detail"]
            assert model.slot_count(SLOT) == left, "nothing written after a mismatch"
            status, recorded = api.post_status(f"{refill}/record", {**wrong, "quantity": left + ADDED})
            assert status == 200, recorded
            assert recorded["state"] == "recorded"
            assert model.slot_count(SLOT) == left + ADDED
            status, answer = api.post_status(f"{refill}/close")
            assert (status, answer["error"]) == (409, "drawer_open")
            model.close_drawer(SLOT)
            status, closed = api.post_status(f"{refill}/close")
            assert status == 200, closed
            assert closed["state"] == "closed"
            inventory = api.get("/pharmacy/api/inventory")
            (slot,) = [s for s in inventory["cabinets"][0]["slots"] if s["slot"] == SLOT]
            assert (slot["count"], slot["lot"], slot["expiry"]) == (left + ADDED, "L2026-07", expiry)
            assert slot["flags"] == ["near_expiry"]
            assert slot["refill"] is None
            stored = wait_until(
                lambda: bridge_events(bridge_port, "refill", nurse),
                20,
                "refill event in the bridge store",
            )
            audit = auditor.get("/audit?limit=20")["entries"]
    (event,) = stored
    assert event["data"]["lot"] == "L2026-07"
    assert event["data"]["count_after"] == left + ADDED
    assert event["data"]["pharmacist"] == "药师张"
    refill_rows = [entry["event"] for entry in audit if entry["event"].startswith("refill_")]
    assert refill_rows == ["refill_closed", "refill_recorded", "refill_mismatch", "refill_opened"]
    drawer_rows = [(e["event"], e["detail"]) for e in audit if e["event"] in ("door_opened", "door_closed")]
    assert drawer_rows[-1] == ("door_opened", {"cabinet": CABINET, "drawer": SLOT})
    verify = CliRunner().invoke(app, ["audit", "verify", "--data-dir", str(tmp_path / "data")])
    assert verify.exit_code == 0, verify.output
