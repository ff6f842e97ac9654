"""Moves readings from the outbox to the broker at QoS 1 and marks them published on PUBACK.

paho-mqtt runs its network loop in its own thread; its callbacks only post events onto the asyncio
loop, and all outbox access happens on that loop, so SQLite is touched from one thread only and
no lock is shared with paho (paho calls ``on_publish`` while holding its own message mutex).
paho keeps unacknowledged messages across reconnects and resends them itself, so the map from
message ID to ``seq`` lives as long as the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from careedge_common import topics
from careedge_common.config import SiteConfig
from careedge_common.envelope import rfc3339, utc_now
from careedge_common.mqtt_client import Will, connect_async, make_client
from edge.commands import CommandHandler
from edge.drain_rate import DrainRate
from edge.metrics import EdgeMetrics
from edge.outbox import Outbox

log = logging.getLogger(__name__)

PUBLISH_QOS = 1
MARK_BATCH = 500
"""PUBACKs are written back in batches: a lost mark only means a harmless re-publish."""
REFUSED_HOLD_OFF_S = 5.0
"""After the broker refuses a message (ACL, quota), wait before offering it again."""
IDLE_WAIT_S = 1.0
"""Longest the loop sleeps without a wake-up (metrics are refreshed at least this often)."""
PACE_S = 0.02
"""While the drain rate holds messages back, the loop wakes at most this often (a few per turn)."""


class Publisher:
    def __init__(self, config: SiteConfig, outbox: Outbox, metrics: EdgeMetrics) -> None:
        assert config.gateway is not None
        self._config = config
        self._site = config.site.id
        self._gateway = config.gateway.id
        self._outbox = outbox
        self._metrics = metrics
        self._capacity = config.broker.max_inflight
        self._rate = DrainRate(config.gateway.outbox.drain_rate_per_s)
        self._in_flight: dict[int, int] = {}
        self._acked: list[int] = []
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._hold_off_until = 0.0
        self.connected = False
        self._client = make_client(
            config.broker,
            f"careedge-edge-{self._site}-{self._gateway}",
            persistent=False,
            will=Will(topics.state(self._site, self._gateway), self._state_document("offline")),
        )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message
        self._commands: dict[str, CommandHandler] = {}

    def handle_commands(self, target: str, handler: CommandHandler) -> None:
        """Subscribe to ``cmd/{target}`` (on every connect) and publish what ``handler`` replies.
        Call before ``start``."""
        self._commands[topics.cmd(self._site, self._gateway, target)] = handler

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        connect_async(self._client, self._config.broker, persistent=False)
        self._client.loop_start()

    def notify(self) -> None:
        """A reading was added to the outbox: publish it without waiting for the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Feed the broker from the outbox until cancelled, in ``seq`` order, never more than
        ``max_inflight`` unacknowledged and never faster than ``drain_rate_per_s``."""
        while True:
            self._wake.clear()
            self._flush_acks()
            wait_s = IDLE_WAIT_S
            if self.connected and time.monotonic() >= self._hold_off_until:
                room = min(self._capacity - len(self._in_flight), self._rate.available())
                if room > 0:
                    batch = self._outbox.take(room)
                    self._rate.spend(len(batch))
                    for entry in batch:
                        info = self._client.publish(entry.topic, entry.payload, qos=PUBLISH_QOS)
                        self._in_flight[info.mid] = entry.seq
                if self._outbox.pending_count() > len(self._in_flight):
                    wait_s = max(PACE_S, self._rate.seconds_until_next())
            self._metrics.outbox_depth.set(self._outbox.pending_count())
            self._metrics.outbox_oldest_age.set(self._outbox.oldest_pending_age())
            self._metrics.in_flight.set(len(self._in_flight))
            await self._wait_for_wake(wait_s)

    async def _wait_for_wake(self, timeout_s: float) -> None:
        """Until ``notify``, a PUBACK or a connection change, at most ``timeout_s``.

        ``asyncio.timeout``, not ``asyncio.wait_for``: on Python 3.11, a cancellation that arrives
        as ``wait_for`` times out is turned into ``TimeoutError``, and the daemon's stop would then
        wait forever for this loop (seen once every few stops while pacing a backlog).
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._wake.wait()

    async def stop(self) -> None:
        """Say goodbye on the state topic (a clean disconnect sends no Last Will) and disconnect."""
        self._flush_acks()
        if self.connected:
            info = self._client.publish(
                topics.state(self._site, self._gateway), self._state_document("offline"), qos=1, retain=True
            )
            await asyncio.to_thread(info.wait_for_publish, 5.0)
        self._client.disconnect()
        self._client.loop_stop()

    def _flush_acks(self) -> None:
        """Record PUBACKs; when the disk refuses even that, keep them and try on the next turn."""
        while self._acked:
            batch = self._acked[:MARK_BATCH]
            try:
                self._outbox.mark_published(batch)
            except sqlite3.Error as exc:
                log.warning("could not mark %d readings published (%s); retrying", len(batch), exc)
                return
            self._acked = self._acked[MARK_BATCH:]
            self._metrics.published.inc(len(batch))

    def _state_document(self, status: str) -> bytes:
        assert self._config.gateway is not None
        document: dict[str, Any] = {
            "v": 1,
            "status": status,
            "site": self._site,
            "gateway": self._gateway,
            "boot": self._outbox.boot,
        }
        if status == "online":
            document["at"] = rfc3339(utc_now())
            document["last_seq"] = self._outbox.last_seq()
            document["devices"] = [{"id": device.id, "kind": device.kind} for device in self._config.devices]
        return json.dumps(document, separators=(",", ":")).encode()

    def _post(self, callback: Any, *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(callback, *args)

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if reason.is_failure:
            log.warning("broker refused connection: %s", reason)
            return
        for topic in self._commands:
            client.subscribe(topic, qos=1)
        self._post(self._announce)

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        self._post(self._set_connected, False)
        log.warning("disconnected from broker: %s", reason)

    def _on_publish(
        self, _client: mqtt.Client, _userdata: Any, mid: int, reason: ReasonCode, _props: Any
    ) -> None:
        self._post(self._handle_puback, mid, reason.is_failure, str(reason))

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._post(self._handle_command, message.topic, bytes(message.payload))

    def _handle_command(self, topic: str, payload: bytes) -> None:
        handler = self._commands.get(topic)
        reply = handler(payload) if handler is not None else None
        if reply is not None:
            self._client.publish(reply.topic, reply.payload, qos=PUBLISH_QOS)

    def _announce(self) -> None:
        """Birth document first, so subscribers know the boot before they see its readings."""
        self._client.publish(
            topics.state(self._site, self._gateway), self._state_document("online"), qos=1, retain=True
        )
        self._set_connected(True)

    def _set_connected(self, connected: bool) -> None:
        self.connected = connected
        self._metrics.mqtt_connected.set(1 if connected else 0)
        self._wake.set()

    def _handle_puback(self, mid: int, failed: bool, reason: str) -> None:
        seq = self._in_flight.pop(mid, None)
        if seq is None:
            return
        if failed:
            log.warning("broker refused reading seq=%d: %s; it stays in the outbox", seq, reason)
            self._metrics.publish_refused.labels(reason=reason).inc()
            self._outbox.release([seq])
            self._hold_off_until = time.monotonic() + REFUSED_HOLD_OFF_S
        else:
            self._acked.append(seq)
        self._wake.set()
