"""The bridge's MQTT session: persistent, QoS 1, manual acknowledgement (DESIGN §3, §4, §6).

paho's network thread (``loop_start``) reads the socket and calls ``on_message``, which only hands
the message to the pipeline. The pipeline later releases processed messages for acknowledgement.
Calling paho's ``ack`` from another thread is safe (like ``publish``, documented as callable from
any thread, it only appends the PUBACK to the client's outgoing ``deque`` and wakes the network
thread through its socket pair; the network thread alone writes to the socket), but each call
is a system call that hands the GIL to the network thread, thousands of times per batch. So
acknowledgements are normally sent by the network thread itself, just before it
delivers the next message, and by the pipeline only when the stream is idle; either way all the
released messages' PUBACKs go out as one write (``BufferedClient.ack_many``). Most messages are
read straight from the client's receive buffer (``BufferedClient.on_publish_received``), the rest
through paho's ``on_message``; both end in ``_received``.

Acknowledgements are tied to the connection a message arrived on. A packet identifier names a
message only within its session: after a disconnect, the broker re-sends unacknowledged messages
on the new connection, so an old message is not acknowledged (its re-sent copy is, once it has
been recognised as a duplicate). Gateways' retained ``state`` topics are subscribed without
sharing, so every bridge knows every gateway's state and gets it again on each subscribe (a
shared subscription receives no retained messages); the bridges' own state, which the same
filter matches, is acknowledged and dropped on arrival. Flow control: with MQTT 5 the broker sends at most
``receive_maximum`` unacknowledged messages, which bounds the bridge's queue; with MQTT 3.1.1
(embedded demo broker) the broker's own in-flight limit does.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from careedge_common import topics
from careedge_common.buffered_mqtt import BufferedClient
from careedge_common.config import BridgeConfig, BrokerConfig
from careedge_common.mqtt_client import Will, connect_async, is_v5, make_client, publish_before_leaving
from careedge_common.publish_frames import Publish

log = logging.getLogger(__name__)

ONLINE = b"online"
OFFLINE = b"offline"
GOODBYE_TIMEOUT_S = 2.0
"""How long ``stop`` waits for the broker to accept the retained ``offline`` state."""


class Incoming(NamedTuple):
    topic: str
    payload: bytes
    mid: int
    qos: int
    connection: int
    """Which connection delivered it; acknowledgements are only valid on that one."""
    taken_over_from: str | None = None
    """The peer bridge whose session a takeover client received it from (``takeover``); None when
    this bridge's own session delivered it."""


class Subscriber:
    def __init__(
        self,
        site: str,
        broker: BrokerConfig,
        bridge: BridgeConfig,
        deliver: Callable[[Incoming], None],
        on_received: Callable[[], None],
        on_acked: Callable[[int], None],
    ) -> None:
        """Raises ``SecretError`` when the broker password named by the config cannot be read."""
        self._site = site
        self._broker = broker
        self._receive_maximum = bridge.receive_maximum
        self._deliver = deliver
        self._on_received = on_received
        self._on_acked = on_acked
        self._ready: deque[Incoming] = deque()
        self._state_topic = topics.bridge_state(site)
        self._filters = topics.bridge_ingest_filters(site, share=is_v5(broker))
        self._lock = threading.Lock()
        self._connection = 0
        self._connected = False
        self.subscribed = threading.Event()
        """Set once the broker has granted the vitals subscription (the bridge is ready)."""
        client = make_client(
            broker,
            bridge.client_id,
            persistent=True,
            manual_ack=True,
            will=Will(self._state_topic, OFFLINE),
            client_class=BufferedClient,
        )
        assert isinstance(client, BufferedClient)
        self._client = client
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish_received = self._on_publish_received
        client.on_subscribe = self._on_subscribe

    @property
    def connected(self) -> bool:
        return self._connected

    def start(self) -> None:
        """Connect in the background; paho reconnects by itself after any loss."""
        connect_async(self._client, self._broker, persistent=True, receive_maximum=self._receive_maximum)
        self._client.loop_start()

    def release(self, messages: Sequence[Incoming]) -> None:
        """Queue processed messages for acknowledgement, in order of receipt.

        The network thread sends their PUBACKs when it next delivers a message, so a busy stream
        costs no thread hand-off per acknowledgement; ``flush_acks`` sends them from the caller's
        thread when the stream is idle.
        """
        self._ready.extend(messages)

    def flush_acks(self) -> None:
        """Send the PUBACKs of every released message now (from any thread)."""
        self._send_ready_acks()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """QoS 1. paho keeps it queued across a reconnect while this process lives."""
        self._client.publish(topic, payload, qos=1, retain=retain)

    def stop(self) -> None:
        """Say ``offline`` (retained) while still connected, then disconnect; unacknowledged
        messages stay in the broker-side session for the next start."""
        if self._connected and not publish_before_leaving(
            self._client, self._state_topic, OFFLINE, GOODBYE_TIMEOUT_S
        ):
            log.warning("the broker did not confirm the bridge's offline state before disconnecting")
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Any,
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        with self._lock:
            self._connection += 1
            self._connected = True
        if not flags.session_present:
            log.info("connected with a new broker session")
        client.subscribe([(topic_filter, 1) for topic_filter in self._filters])
        client.publish(self._state_topic, ONLINE, qos=1, retain=True)

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: list[ReasonCode], properties: Any
    ) -> None:
        if any(reason.is_failure for reason in reasons):
            log.error("the broker refused the vitals subscription: %s", [str(r) for r in reasons])
            return
        self.subscribed.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Any,
    ) -> None:
        with self._lock:
            self._connection += 1
            self._connected = False
        if reason.is_failure:
            log.warning("disconnected from the broker (%s); reconnecting", reason)

    def _send_ready_acks(self) -> None:
        """A message is acknowledged only on the connection it arrived on (see module docstring)."""
        sent = 0
        mids: list[int] = []
        with self._lock:
            while self._ready:
                message = self._ready.popleft()
                if self._connected and message.connection == self._connection:
                    sent += 1
                    if message.qos:
                        mids.append(message.mid)
            self._client.ack_many(mids)
        if sent:
            self._on_acked(sent)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._received(message.topic, bytes(message.payload), message.mid, message.qos)

    def _on_publish_received(self, publish: Publish) -> None:
        self._received(publish.topic, publish.payload, publish.mid, 1)

    def _received(self, topic: str, payload: bytes, mid: int, qos: int) -> None:
        if self._ready:
            self._send_ready_acks()
        if topic == self._state_topic:
            if qos:
                self._client.ack_many([mid])
            return
        self._on_received()
        self._deliver(Incoming(topic, payload, mid, qos, self._connection))
