"""One takeover of a dead peer bridge's MQTT session, run to its end on the calling thread.

Mosquitto 2.0 never hands a dead shared-subscription member's unacknowledged messages to the other
members, and keeps routing that member's round-robin share into its persistent session until the
same client ID connects again. So a survivor connects with the peer's client ID and clean start
off (resuming the session), unsubscribes the session's filters at once (nothing new is routed
there), and receives what the session holds: the messages the peer had unacknowledged, then those
queued since. They go through the bridge's own pipeline and are acknowledged only once written,
exactly as on the main session; envelope-ID dedupe drops those the peer had already stored.

The connection is never re-established: paho's network loop is driven here, by one thread, which
also sends the acknowledgements (so no paho call crosses threads). It ends when

- nothing arrived for ``quiet_s`` and everything received is acknowledged: a normal DISCONNECT,
  leaving the (now empty) session in place for the peer; whatever might still straggle in waits
  there, nothing is deleted;
- the broker ends the connection: the peer came back and took its session (MQTT 5 says "session
  taken over", 0x8E; Mosquitto 2.0.11 just closes the socket) or the link failed. What was received
  and not yet acknowledged is re-sent to whoever holds the session next;
- the bridge stops: a normal DISCONNECT, unacknowledged messages stay in the session;
- the session did not exist: the empty one the connection created is removed again.
"""

from __future__ import annotations

import enum
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from careedge_common.config import BrokerConfig
from careedge_common.mqtt_client import connect_async, make_client
from cloud_bridge.subscriber import Incoming

log = logging.getLogger(__name__)

LOOP_S = 0.05
"""Longest wait for network traffic before released messages are acknowledged."""
CONNECT_TIMEOUT_S = 10.0
SESSION_TAKEN_OVER = 0x8E
_connection_ids = itertools.count(-1, -1)
"""Negative, so no takeover connection shares a number with the main session's connections."""


class Outcome(enum.StrEnum):
    DRAINED = "drained"
    NO_SESSION = "no_session"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class TakeoverHooks:
    deliver: Callable[[Incoming], None]
    """Hands a message to the pipeline."""
    on_received: Callable[[], None]
    on_acked: Callable[[int], None]


class SessionTakeover:
    def __init__(
        self,
        peer: str,
        broker: BrokerConfig,
        receive_maximum: int,
        filters: Sequence[str],
        quiet_s: float,
        hooks: TakeoverHooks,
        stop: threading.Event,
    ) -> None:
        """Raises ``SecretError`` when the broker password cannot be read."""
        self.peer = peer
        self.connection = next(_connection_ids)
        self.received = 0
        self._broker = broker
        self._receive_maximum = receive_maximum
        self._filters = list(filters)
        self._quiet_s = quiet_s
        self._hooks = hooks
        self._stop = stop
        self._ready: deque[Incoming] = deque()
        self._outstanding = 0
        self._last_activity = time.monotonic()
        self._unsubscribed = False
        self._outcome: Outcome | None = None
        self._client = make_client(broker, peer, persistent=True, manual_ack=True)
        self._client.on_connect = self._on_connect
        self._client.on_unsubscribe = self._on_unsubscribe
        self._client.on_message = self._on_message
        self._client.on_disconnect = self._on_disconnect

    def release(self, messages: Sequence[Incoming]) -> None:
        """Processed messages of this takeover, for acknowledgement (from any thread)."""
        self._ready.extend(message for message in messages if message.connection == self.connection)

    def run(self) -> Outcome:
        connect_async(self._client, self._broker, persistent=True, receive_maximum=self._receive_maximum)
        try:
            self._client.reconnect()
        except OSError as exc:
            log.warning("could not connect to take over %s's session: %s", self.peer, exc)
            return Outcome.FAILED
        connect_deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while self._outcome is None:
            if self._client.loop(LOOP_S) != mqtt.MQTT_ERR_SUCCESS and self._outcome is None:
                self._outcome = Outcome.INTERRUPTED
            if self._outcome is None:
                self._send_acks()
                self._next_step(connect_deadline)
        self._finish_leaving()
        return self._outcome

    def _next_step(self, connect_deadline: float) -> None:
        if self._stop.is_set():
            self._leave(Outcome.STOPPED)
        elif self._unsubscribed and self._drained():
            self._leave(Outcome.DRAINED)
        elif not self._unsubscribed and time.monotonic() > connect_deadline:
            log.warning("the broker did not accept the takeover of %s's session in time", self.peer)
            self._leave(Outcome.FAILED)

    def _finish_leaving(self) -> None:
        """A DISCONNECT queued inside a callback is written by the loop; wait for it to go out."""
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while self._client.socket() is not None and time.monotonic() < deadline:
            if self._client.loop(LOOP_S) != mqtt.MQTT_ERR_SUCCESS:
                break

    def _drained(self) -> bool:
        return self._outstanding == 0 and time.monotonic() - self._last_activity >= self._quiet_s

    def _leave(self, outcome: Outcome, properties: Properties | None = None) -> None:
        self._outcome = outcome
        self._client.disconnect(properties=properties)

    def _send_acks(self) -> None:
        sent = 0
        while self._ready:
            message = self._ready.popleft()
            self._client.ack(message.mid, message.qos)
            sent += 1
        if sent:
            self._outstanding -= sent
            self._last_activity = time.monotonic()
            self._hooks.on_acked(sent)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Any,
    ) -> None:
        if reason.is_failure:
            log.warning("the broker refused the takeover of %s's session: %s", self.peer, reason)
            self._outcome = Outcome.FAILED
            return
        if not flags.session_present:
            log.info("%s left no session to take over", self.peer)
            remove = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
            remove.SessionExpiryInterval = 0
            self._leave(Outcome.NO_SESSION, remove)
            return
        client.unsubscribe(self._filters)

    def _on_unsubscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: list[ReasonCode], properties: Any
    ) -> None:
        if any(reason.is_failure for reason in reasons):
            refused = [str(reason) for reason in reasons]
            log.warning("the broker refused to unsubscribe %s's session: %s", self.peer, refused)
        self._unsubscribed = True
        self._last_activity = time.monotonic()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._last_activity = time.monotonic()
        if message.topic.endswith("/state"):
            client.ack(message.mid, message.qos)
            return
        self.received += 1
        self._outstanding += 1
        self._hooks.on_received()
        payload = bytes(message.payload)
        self._hooks.deliver(
            Incoming(message.topic, payload, message.mid, message.qos, self.connection, self.peer)
        )

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Any,
    ) -> None:
        if self._outcome is not None:
            return
        self._outcome = Outcome.INTERRUPTED
        if reason.value == SESSION_TAKEN_OVER:
            log.info("%s came back and took its session over", self.peer)
        else:
            log.info("the takeover of %s's session ended early (%s)", self.peer, reason)
