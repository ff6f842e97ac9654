"""The gateway's half of the end-to-end delivery check (DESIGN §4): replay what the broker lost.

A PUBACK only says the broker has a message in memory; Mosquitto writes it to disk at its next
autosave, so a broker killed before then loses messages this gateway has marked published. The
bridges publish a retained watermark (every ``seq`` up to it is stored) and ask for missing ranges
on ``cmd/replay``. This agent listens to both on its own small MQTT connection (the publisher's
link stays the outbox's alone) and:

- answers ``cmd/replay`` by publishing the range again from the outbox and reporting on
  ``cmd-ack/{command_id}`` (how many, and which seqs it no longer holds);
- finds loss at the tail, which no later ``seq`` reveals: when the watermark has not moved for
  ``tail_grace_s``, messages published more than that long ago and still above it are published
  again (each once per grace period). Not while the bridges say they are offline (retained
  ``bridge/state``), and not while the watermark moves (a bridge working through a backlog): a
  stalled watermark with a bridge online is what a lost tail looks like, and anything else would
  pile copies into a broker session that is already behind;
- tells the outbox purge how far it may forget (``watermark``).

Replayed messages keep their envelope ID, so a bridge that did store the original drops the copy
as a duplicate and a reading is never counted twice; they carry ``historical: true``, so a reading
the bridge sees for the first time this way is stored and evaluated, and an alert raised from it
says it is late. Both kinds of replay share one rate (``rate_per_s``). The watermark is trusted
only when its ``boot`` is not above this outbox's: a higher one belongs to an earlier outbox file
of the same gateway ID (replaced disk), whose seqs say nothing about this one's.

paho calls back on its own thread; callbacks only post onto the asyncio loop, where every outbox
access happens (as in the publisher).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode
from prometheus_client import CollectorRegistry, Counter, Gauge
from pydantic import ValidationError

from careedge_common import topics
from careedge_common.config import SiteConfig
from careedge_common.delivery_messages import (
    COMMAND_ID_PATTERN,
    ReplayCommand,
    ReplayResult,
    WatermarkMessage,
    compact_json,
)
from careedge_common.envelope import Envelope
from careedge_common.mqtt_client import connect_async, make_client
from edge.outbox import Outbox, OutboxEntry

log = logging.getLogger(__name__)

TICK_S = 0.1
"""The rate budget is handed out in slices this long."""
TAIL_CHECK_S = 1.0
PUBLISH_QOS = 1
COMMAND_ID = re.compile(COMMAND_ID_PATTERN)
BRIDGE_OFFLINE = b"offline"
"""The bridges' retained state (their Last Will, or their goodbye) when none is running."""


class ReplayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.replayed = Counter(
            "careedge_edge_replayed",
            "Messages published again, by why: requested (cmd/replay) or tail (above the watermark)",
            ["why"],
            registry=registry,
        )
        self.commands = Counter(
            "careedge_edge_replay_commands", "cmd/replay commands, by result", ["result"], registry=registry
        )
        self.watermark = Gauge(
            "careedge_edge_watermark_seq",
            "Highest seq the bridges report stored without gaps",
            registry=registry,
        )
        for why in ("requested", "tail"):
            self.replayed.labels(why)
        for result in ("replayed", "rejected"):
            self.commands.labels(result)


@dataclass(slots=True)
class _Job:
    command: ReplayCommand
    next_seq: int
    replayed: int = 0


class ReplayAgent:
    def __init__(self, config: SiteConfig, outbox: Outbox, registry: CollectorRegistry) -> None:
        assert config.gateway is not None
        self._site = config.site.id
        self._gateway = config.gateway.id
        self._settings = config.gateway.replay
        self._broker = config.broker
        self._outbox = outbox
        self._metrics = ReplayMetrics(registry)
        self._watermark_topic = topics.watermark(self._site, self._gateway)
        self._replay_topic = topics.cmd(self._site, self._gateway, "replay")
        self._jobs: deque[_Job] = deque()
        self._tail_sent: dict[int, float] = {}
        self._watermark_moved_at = 0.0
        self._bridge_state_topic = topics.bridge_state(self._site)
        self._bridge_offline = False
        self._call_soon: Callable[..., object] = _not_started
        """The daemon loop's ``call_soon_threadsafe``: paho's thread hands every event to the loop."""
        self.connected = False
        """True once the broker has granted the watermark and replay subscriptions."""
        self.watermark: int | None = None
        """Every seq up to this one is stored by the bridges; None until a watermark arrives."""
        self._client = make_client(
            config.broker, f"careedge-edge-{self._site}-{self._gateway}-replay", persistent=False
        )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    def start(self) -> None:
        self._call_soon = asyncio.get_running_loop().call_soon_threadsafe
        connect_async(self._client, self._broker, persistent=False)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    async def run(self) -> None:
        """Replay requested ranges, then the tail, within the rate, until cancelled."""
        per_tick = max(1, int(self._settings.rate_per_s * TICK_S))
        next_tail_check = time.monotonic()
        while True:
            if self.connected:
                left = self._serve_jobs(per_tick)
                if left and time.monotonic() >= next_tail_check:
                    self.replay_tail(left)
                    next_tail_check = time.monotonic() + TAIL_CHECK_S
            await asyncio.sleep(TICK_S)

    def _serve_jobs(self, budget: int) -> int:
        """Publish up to ``budget`` messages of the requested ranges; returns the budget left."""
        while budget and self._jobs:
            job = self._jobs[0]
            entries = self._outbox.published(job.next_seq, job.command.to_seq, budget)
            for entry in entries:
                self._republish(entry, "requested")
            job.replayed += len(entries)
            budget -= len(entries)
            if budget:
                self._jobs.popleft()
                self._answer(job)
            else:
                job.next_seq = entries[-1].seq + 1
        return budget

    def _answer(self, job: _Job) -> None:
        command = job.command
        missing = _missing(
            self._outbox.held_seqs(command.from_seq, command.to_seq), command.from_seq, command.to_seq
        )
        result = ReplayResult(
            command_id=command.command_id,
            result="replayed",
            from_seq=command.from_seq,
            to_seq=command.to_seq,
            replayed=job.replayed,
            missing=missing,
        )
        self._reply(result)
        self._metrics.commands.labels("replayed").inc()
        log.info(
            "replayed %d messages of seq %d-%d; %d ranges no longer held",
            job.replayed,
            command.from_seq,
            command.to_seq,
            len(missing),
        )

    @property
    def bridge_offline(self) -> bool:
        """The bridges' retained state says none is running."""
        return self._bridge_offline

    def replay_tail(self, budget: int) -> int:
        """Publish again up to ``budget`` messages published ``tail_grace_s`` ago and still above a
        watermark that has not moved for as long; returns how many (see the module docstring)."""
        grace = self._settings.tail_grace_s
        if (
            self.watermark is None
            or self._bridge_offline
            or time.monotonic() - self._watermark_moved_at < grace
        ):
            return 0
        now = time.time()
        candidates = self._outbox.published(
            self.watermark + 1, None, budget + len(self._tail_sent), published_before=now - grace
        )
        due = [entry for entry in candidates if now - self._tail_sent.get(entry.seq, 0.0) >= grace][:budget]
        for entry in due:
            self._republish(entry, "tail")
            self._tail_sent[entry.seq] = now
        if due:
            log.info(
                "published seq %d-%d again: above the watermark %d for too long",
                due[0].seq,
                due[-1].seq,
                self.watermark,
            )
        return len(due)

    def _republish(self, entry: OutboxEntry, why: str) -> None:
        self._client.publish(entry.topic, _historical(entry.payload), qos=PUBLISH_QOS)
        self._metrics.replayed.labels(why).inc()

    def _reply(self, result: ReplayResult) -> None:
        topic = topics.cmd_ack(self._site, self._gateway, result.command_id)
        self._client.publish(topic, compact_json(result), qos=PUBLISH_QOS)

    def _take_watermark(self, payload: bytes) -> None:
        try:
            message = WatermarkMessage.model_validate_json(payload)
        except ValidationError as exc:
            log.warning("ignored a malformed watermark: %s", exc.errors(include_input=False)[0]["msg"])
            return
        if message.boot > self._outbox.boot:
            log.warning(
                "ignored a watermark of boot %d: this outbox is at boot %d (an earlier outbox file's?)",
                message.boot,
                self._outbox.boot,
            )
            return
        if self.watermark is None or message.seq > self.watermark:
            self.watermark = message.seq
            self._watermark_moved_at = time.monotonic()
            self._metrics.watermark.set(message.seq)
            self._tail_sent = {seq: at for seq, at in self._tail_sent.items() if seq > message.seq}

    def _take_bridge_state(self, payload: bytes) -> None:
        self._bridge_offline = payload == BRIDGE_OFFLINE

    def _take_command(self, payload: bytes) -> None:
        try:
            command = ReplayCommand.model_validate_json(payload)
        except ValidationError as exc:
            reason = exc.errors(include_input=False)[0]
            self._metrics.commands.labels("rejected").inc()
            log.warning("rejected a cmd/replay: %s at %s", reason["msg"], reason["loc"])
            command_id = _command_id(payload)
            if command_id is not None:
                self._reply(ReplayResult(command_id=command_id, result="rejected", reason=str(reason["msg"])))
            return
        self._jobs.append(_Job(command, command.from_seq))

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if reason.is_failure:
            log.warning("broker refused the replay connection: %s", reason)
            return
        client.subscribe(
            [
                (topic, PUBLISH_QOS)
                for topic in (self._watermark_topic, self._replay_topic, self._bridge_state_topic)
            ]
        )

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: list[ReasonCode], _props: Any
    ) -> None:
        if any(reason.is_failure for reason in reasons):
            log.error("broker refused the watermark and replay subscriptions: %s", [str(r) for r in reasons])
            return
        self._call_soon(self._set_connected, True)

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, _reason: ReasonCode, _props: Any
    ) -> None:
        self._call_soon(self._set_connected, False)

    def _set_connected(self, connected: bool) -> None:
        self.connected = connected

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        handlers = {
            self._watermark_topic: self._take_watermark,
            self._bridge_state_topic: self._take_bridge_state,
        }
        self._call_soon(handlers.get(message.topic, self._take_command), bytes(message.payload))


def _not_started(*_: object) -> None:
    raise RuntimeError("ReplayAgent.start was not called")


def _historical(payload: bytes) -> bytes:
    """The same envelope (same ID) marked ``historical``; bytes that are not an envelope unchanged."""
    try:
        envelope = Envelope.model_validate_json(payload)
    except ValidationError:
        return payload
    return envelope.model_copy(update={"historical": True}).model_dump_json().encode()


def _missing(held: list[int], first: int, last: int) -> list[tuple[int, int]]:
    """The runs of ``first``..``last`` not in ``held`` (ascending), without walking the whole range."""
    runs: list[tuple[int, int]] = []
    expected = first
    for seq in [*held, last + 1]:
        if seq > expected:
            runs.append((expected, seq - 1))
        expected = seq + 1
    return runs


def _command_id(payload: bytes) -> str | None:
    """The ``command_id`` of a rejected command when it can be answered on, else None."""
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    command_id = document.get("command_id") if isinstance(document, dict) else None
    return command_id if isinstance(command_id, str) and COMMAND_ID.match(command_id) else None
