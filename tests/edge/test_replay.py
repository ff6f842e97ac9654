"""The edge's replay agent against a real Mosquitto: requested ranges, lost tails, the watermark."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client import CollectorRegistry

from careedge_common import topics
from careedge_common.config import SiteConfig
from careedge_common.envelope import Envelope, Observation, new_event_id
from careedge_testkit.mqtt_capture import Captured, MqttCapture
from careedge_testkit.servers import LOOPBACK, Mosquitto
from edge.outbox import Message, Outbox
from edge.replay import ReplayAgent

SITE, GATEWAY = "home-a", "gw-1"
VITALS = topics.vitals(SITE, GATEWAY, "kiosk-1")
FAR_FUTURE = 10.0**10
WATERMARK_3 = {"boot": 1, "seq": 3, "at": "2026-01-01T00:00:00.000Z"}


def _config(port: int, tmp_path: Path, **replay: Any) -> SiteConfig:
    return SiteConfig.model_validate(
        {
            "site": {"id": SITE},
            "broker": {"insecure": True, "port": port, "keepalive_s": 5},
            "gateway": {
                "id": GATEWAY,
                "data_dir": str(tmp_path),
                "pseudonym_secret_file": "/unused",
                "replay": replay,
            },
        }
    )


def _reading(seq: int, boot: int) -> Message:
    now = datetime.now(UTC)
    envelope = Envelope(
        id=new_event_id(),
        seq=seq,
        boot=boot,
        site=SITE,
        gateway=GATEWAY,
        device="kiosk-1",
        type="observation",
        measured_at=now,
        received_at=now,
        obs=[Observation(code="8867-4", name="Heart rate", value=60 + seq, unit="/min")],
    )
    return Message(envelope.id, VITALS, envelope.model_dump_json().encode())


def _published_outbox(tmp_path: Path, count: int) -> tuple[Outbox, dict[int, str]]:
    """An outbox whose first ``count`` readings the broker acknowledged; their IDs by seq."""
    outbox = Outbox(tmp_path / "edge.db")
    entries = [outbox.add(_reading) for _ in range(count)]
    outbox.mark_published(entry.seq for entry in outbox.take(count))
    return outbox, {entry.seq: entry.id for entry in entries}


async def _until(condition: Callable[[], object], timeout: float = 20.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


@contextlib.asynccontextmanager
async def _running(agent: ReplayAgent) -> AsyncIterator[None]:
    agent.start()
    task = asyncio.create_task(agent.run())
    try:
        await _until(lambda: agent.connected)
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        agent.stop()


def _publish(port: int, topic: str, document: dict[str, Any] | str, *, retain: bool = False) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect(LOOPBACK, port)
    client.loop_start()
    try:
        payload = document.encode() if isinstance(document, str) else json.dumps(document).encode()
        client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


def _vitals(messages: list[Captured]) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in messages if m.topic == VITALS]


async def _command(
    mosquitto: Mosquitto, tmp_path: Path, outbox: Outbox, command: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Send ``command`` on ``cmd/replay`` to a running agent; what it published again, and its ack."""
    agent = ReplayAgent(_config(mosquitto.port, tmp_path), outbox, CollectorRegistry())
    ack_topic = topics.cmd_ack(SITE, GATEWAY, command["command_id"])
    with MqttCapture(mosquitto.port, [VITALS, ack_topic]) as capture:
        async with _running(agent):
            _publish(mosquitto.port, topics.cmd(SITE, GATEWAY, "replay"), command)
            await _until(lambda: any(m.topic == ack_topic for m in capture.messages))
        ack = json.loads(next(m.payload for m in capture.messages if m.topic == ack_topic))
        return _vitals(capture.messages), ack


async def test_a_requested_range_is_published_again_under_the_same_ids_and_acknowledged(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    outbox, ids = _published_outbox(tmp_path, 6)
    outbox.purge_published(0, covered_through=2, now=FAR_FUTURE)
    command = {"command_id": "r-1", "boot": 1, "from_seq": 1, "to_seq": 4}
    replayed, ack = await _command(mosquitto, tmp_path, outbox, command)

    assert [(r["seq"], r["id"], r["historical"]) for r in replayed] == [(3, ids[3], True), (4, ids[4], True)]
    assert ack == {
        "v": 1,
        "command_id": "r-1",
        "result": "replayed",
        "from_seq": 1,
        "to_seq": 4,
        "replayed": 2,
        "missing": [[1, 2]],
    }
    outbox.close()


async def test_a_malformed_command_is_answered_with_a_rejection(mosquitto: Mosquitto, tmp_path: Path) -> None:
    outbox, _ = _published_outbox(tmp_path, 2)
    command = {"command_id": "r-2", "boot": 1, "from_seq": 2, "to_seq": 1}
    replayed, ack = await _command(mosquitto, tmp_path, outbox, command)

    assert ack["result"] == "rejected"
    assert "to_seq" in ack["reason"]
    assert replayed == []
    outbox.close()


async def test_the_retained_watermark_bounds_tail_replay_and_purge(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    outbox, ids = _published_outbox(tmp_path, 5)
    watermark = topics.watermark(SITE, GATEWAY)
    at = WATERMARK_3["at"]
    _publish(mosquitto.port, watermark, WATERMARK_3, retain=True)
    agent = ReplayAgent(_config(mosquitto.port, tmp_path, tail_grace_s=0.001), outbox, CollectorRegistry())
    with MqttCapture(mosquitto.port, [VITALS]) as capture:
        async with _running(agent):
            await _until(lambda: agent.watermark == 3)
            await _until(lambda: {r["seq"] for r in _vitals(capture.messages)} == {4, 5})
            _publish(mosquitto.port, watermark, {"boot": 7, "seq": 5, "at": at}, retain=True)
            _publish(mosquitto.port, watermark, {"boot": 1, "seq": 4, "at": at}, retain=True)
            await _until(lambda: agent.watermark == 4)
            covered = agent.watermark
        replayed = _vitals(capture.messages)

    assert {r["seq"] for r in replayed} == {4, 5}, "nothing the watermark covers is replayed"
    assert all(r["historical"] and r["id"] == ids[r["seq"]] for r in replayed)
    assert outbox.purge_published(0, covered, now=FAR_FUTURE) == 4
    assert outbox.held_seqs(1, 5) == [5]
    outbox.close()


async def test_no_tail_replay_while_the_bridges_say_they_are_offline(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    outbox, _ = _published_outbox(tmp_path, 5)
    _publish(mosquitto.port, topics.bridge_state(SITE), "offline", retain=True)
    _publish(mosquitto.port, topics.watermark(SITE, GATEWAY), WATERMARK_3, retain=True)
    agent = ReplayAgent(_config(mosquitto.port, tmp_path, tail_grace_s=0.001), outbox, CollectorRegistry())
    agent.start()
    try:
        await _until(lambda: agent.watermark == 3 and agent.bridge_offline)
        assert agent.replay_tail(10) == 0
        _publish(mosquitto.port, topics.bridge_state(SITE), "online", retain=True)
        await _until(lambda: not agent.bridge_offline)
        assert agent.replay_tail(10) == 2
    finally:
        agent.stop()
        outbox.close()
