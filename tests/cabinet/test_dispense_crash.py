"""The dispense sequence survives a SIGKILL of the edge after each of its steps.

For every step of ``edge.dispensing.STEPS`` in turn: the cloud's dispense command and the nurse's
confirmation are each sent twice, the edge process kills itself right after that step
(``CAREEDGE_CRASH_AFTER``), and is started again, and the command and the confirmation are sent
again. While the edge is down the cabinet loses power and comes back (locks drop, counts and the
command mailbox stay). A scripted resident takes one dose every time a drawer is released, so a
drawer released twice would show as two doses gone. In every case exactly one dose leaves the
slot (read from the simulator's registers) and exactly one ``dispensed`` event reaches a real
Mosquitto.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from careedge_common import topics
from careedge_common.envelope import Envelope
from careedge_testkit.edge_api import EdgeApi
from careedge_testkit.mqtt_capture import Captured, MqttCapture
from careedge_testkit.processes import Daemon
from careedge_testkit.servers import Mosquitto, free_port, wait_until
from careedge_testkit.tokens import new_token
from edge.crash_point import ENV_VAR
from edge.dispensing import STEPS
from firmware_sim.cabinet.model import DEFAULT_DOSES_PER_SLOT
from tests.cabinet.cabinet_kit import (
    CABINET,
    GATEWAY,
    SITE,
    dispense_command,
    edge_config,
    send_command,
    simulated_cabinet,
)

SLOT = 3
STAFF = {"staff": "nurse-li"}


def _dispensed(messages: list[Captured], dose_id: str) -> list[Envelope]:
    events = [Envelope.model_validate_json(m.payload) for m in messages if m.topic.endswith("/event")]
    return [e for e in events if e.data and e.data["event"] == "dispensed" and e.data["dose_id"] == dose_id]


def _acks(messages: list[Captured], command_id: str) -> list[dict[str, object]]:
    topic = topics.cmd_ack(SITE, GATEWAY, command_id)
    return [json.loads(m.payload) for m in messages if m.topic == topic]


@pytest.mark.parametrize("step", STEPS)
def test_one_dose_and_one_event_whatever_step_the_edge_dies_after(
    tmp_path: Path, mosquitto: Mosquitto, step: str
) -> None:
    command = dispense_command(f"c-{step}", SLOT)
    dose_id = f"cmd:{command['command_id']}"
    api = EdgeApi(free_port(), new_token(tmp_path, "nurse"))
    filters = [topics.cabinet_event(SITE, GATEWAY, CABINET), topics.cmd_ack(SITE, GATEWAY, "+")]
    with simulated_cabinet(resident_doses=1) as cabinet, MqttCapture(mosquitto.port, filters) as capture:
        config = edge_config(tmp_path, mosquitto.port, cabinet, api.port)
        edge = Daemon("edge", config, env={ENV_VAR: step}).start()
        try:
            wait_until(lambda: api.up() or not edge.running, 20, "edge API up")

            def delivered() -> bool:
                if not edge.running:
                    return True
                send_command(mosquitto.port, command)
                return bool(_acks(capture.messages, command["command_id"]))

            wait_until(delivered, 20, "dispense command acknowledged", interval=0.3)
            for _ in range(2):
                if edge.running:
                    send_command(mosquitto.port, command)
            for _ in range(2):
                if edge.running:
                    try:
                        api.post_status(f"/cabinet/doses/{dose_id}/confirm", STAFF)
                    except OSError:
                        break
            wait_until(lambda: not edge.running, 20, f"edge killed itself after {step}")
            assert edge.process is not None
            assert edge.process.returncode == -9, edge.log()
        finally:
            edge.kill()
        cabinet.model.power_off()
        cabinet.model.power_on()
        restarted = Daemon("edge", config).start()
        try:
            wait_until(api.up, 20, "restarted edge API up")
            send_command(mosquitto.port, command)
            status, _ = api.post_status(f"/cabinet/doses/{dose_id}/confirm", STAFF)
            assert status == 200
            capture.wait_for(lambda m: _dispensed(m, dose_id), 20, "dispensed event")
            send_command(mosquitto.port, command)
            answer = capture.wait_for(
                lambda m: [a for a in _acks(m, command["command_id"]) if a["state"] == "dispensed"],
                20,
                "a repeat answered with the recorded outcome",
            )[-1]
            assert answer["status"] == "repeated"
            wait_until(lambda: api.get("/health")["outbox_pending"] == 0, 20, "outbox drained")
        finally:
            restarted.stop()
        assert cabinet.model.slot_count(SLOT) == DEFAULT_DOSES_PER_SLOT - 1, "exactly one dose left the slot"
        assert {s: cabinet.model.slot_count(s) for s in range(1, 9) if s != SLOT} == dict.fromkeys(
            [1, 2, 4, 5, 6, 7, 8], DEFAULT_DOSES_PER_SLOT
        )
        events = _dispensed(capture.messages, dose_id)
        assert len({event.id for event in events}) == 1, "exactly one dispensed event"
        (event,) = {event.id: event for event in events}.values()
        assert event.subject == command["subject"]
        assert event.data is not None
        assert event.data["count_before"] == DEFAULT_DOSES_PER_SLOT
        assert event.data["count_after"] == DEFAULT_DOSES_PER_SLOT - 1
        assert event.data["identified_by"] == "staff:nurse-li"


def test_power_loss_after_the_release_never_releases_the_drawer_again(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """Nobody takes the dose; the cabinet loses power while the drawer is released (the lock drops)
    and the command is repeated: the drawer is not released a second time, and once the take
    timeout has passed the dose is ``refused`` with the count unchanged."""
    command = dispense_command("c-power", SLOT)
    dose_id = f"cmd:{command['command_id']}"
    api = EdgeApi(free_port(), new_token(tmp_path, "nurse"))
    filters = [topics.cabinet_event(SITE, GATEWAY, CABINET)]
    with simulated_cabinet(relock_after_s=30) as cabinet, MqttCapture(mosquitto.port, filters) as capture:
        model = cabinet.model
        config = edge_config(tmp_path, mosquitto.port, cabinet, api.port, {"take_timeout_s": 1})
        with Daemon("edge", config):
            wait_until(api.up, 20, "edge API up")
            wait_until(
                lambda: send_command(mosquitto.port, command) or api.get("/cabinet/doses")["doses"],
                20,
                "command recorded",
                interval=0.3,
            )
            api.post(f"/cabinet/doses/{dose_id}/confirm", STAFF)
            wait_until(lambda: model.is_unlocked(SLOT), 20, "drawer released")
            model.power_off()
            model.power_on()
            model.clear_served()
            send_command(mosquitto.port, command)
            api.post(f"/cabinet/doses/{dose_id}/confirm", STAFF)
            events = capture.wait_for(
                lambda m: [Envelope.model_validate_json(x.payload) for x in m], 20, "the dose's outcome"
            )
            served = list(model.served)
    (event,) = events
    assert event.data is not None
    assert (event.data["event"], event.data["reason"]) == ("refused", "not taken")
    assert model.slot_count(SLOT) == DEFAULT_DOSES_PER_SLOT
    assert not model.is_unlocked(SLOT)
    mailbox_id = model.profile.holding_registers.mailbox.command_id.address
    writes = [r for r in served if r.function_code in (5, 6, 15, 16)]
    assert not [w for w in writes if w.address <= mailbox_id < w.address + w.count], "no second release"
    assert not [w for w in writes if w.function_code in (5, 15)], "no lock coil written"
