"""The bridge's MQTT session reads its socket in bursts (``careedge_common.buffered_mqtt``): a
backlog arrives whole, in order and acknowledged, messages larger than one read included, and the
session comes back after every broker restart."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from cloud_bridge_kit import TestClient, site_config, vitals_topic
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from careedge_common.buffered_mqtt import READ_SIZE, BufferedClient, BufferedSocket
from careedge_common.publish_frames import Publish
from careedge_testkit.servers import LOOPBACK, Mosquitto, wait_until
from cloud_bridge.subscriber import Incoming, Subscriber

BACKLOG = 2_000
UNACKED = 800
"""Fewer than the broker's ``max_inflight_messages``: what it sends a session that acknowledges nothing."""
RESTARTS = 4


class Received:
    """What the subscriber delivered; ``gate`` holds paho's network thread at the first message."""

    def __init__(self) -> None:
        self.messages: queue.Queue[Incoming] = queue.Queue()
        self.gate = threading.Event()
        self.acked = 0

    def deliver(self, message: Incoming) -> None:
        self.gate.wait(30)
        self.messages.put(message)

    def on_acked(self, count: int) -> None:
        self.acked += count

    def take(self, count: int) -> list[Incoming]:
        return [self.messages.get(timeout=30) for _ in range(count)]


@contextlib.contextmanager
def subscriber(tmp_path: Path, mosquitto: Mosquitto, received: Received) -> Iterator[Subscriber]:
    config = site_config(tmp_path, mosquitto)
    assert config.bridge is not None
    session = Subscriber(
        config.site.id, config.broker, config.bridge, received.deliver, lambda: None, received.on_acked
    )
    session.start()
    try:
        wait_until(session.subscribed.is_set, 10, "the subscription")
        yield session
    finally:
        session.stop()


def restart(mosquitto: Mosquitto, session: Subscriber) -> None:
    """Restart the broker and wait for the session's next connection: a shared subscription
    whose only member is away gets nothing published meanwhile."""
    before = session._client.socket()
    mosquitto.restart()
    wait_until(
        lambda: session.connected and session._client.socket() not in (None, before),
        15,
        "the session's next connection",
    )


def payload(index: int) -> bytes:
    """Sizes from a few bytes to more than two reads, so packets straddle every read boundary."""
    size = 3 * READ_SIZE if index % 500 == 7 else 1 + (index * 37) % 1500
    return f"{index:06d}".encode() + bytes([index % 251]) * size


def test_a_backlog_arrives_whole_in_order_and_is_acknowledged(tmp_path: Path, mosquitto: Mosquitto) -> None:
    received = Received()
    gateway = TestClient(mosquitto)
    try:
        with subscriber(tmp_path, mosquitto, received) as session:
            for index in range(BACKLOG):
                gateway.publish(vitals_topic(), payload(index))
            received.gate.set()
            messages = received.take(BACKLOG)
            assert [message.payload for message in messages] == [payload(i) for i in range(BACKLOG)]
            session.release(messages)
            session.flush_acks()
            assert received.acked == BACKLOG
    finally:
        gateway.close()
    again = Received()
    again.gate.set()
    with subscriber(tmp_path, mosquitto, again):
        gateway = TestClient(mosquitto)
        try:
            gateway.publish(vitals_topic(), b"after")
            assert again.take(1)[0].payload == b"after", "nothing acknowledged came back"
        finally:
            gateway.close()


def test_the_session_comes_back_after_every_broker_restart(tmp_path: Path, mosquitto: Mosquitto) -> None:
    """Each round's messages arrive after the restart, in order; an earlier round's may come again
    (their acknowledgements may not have reached the broker before it stopped: at least once)."""
    received = Received()
    received.gate.set()
    sent: list[bytes] = []
    with subscriber(tmp_path, mosquitto, received) as session:
        for round_ in range(RESTARTS):
            restart(mosquitto, session)
            fresh = [payload(round_ * 1000 + index) for index in range(50)]
            gateway = TestClient(mosquitto)
            try:
                for message in fresh:
                    gateway.publish(vitals_topic(), message)
                got: list[bytes] = []
                while len(got) < len(fresh):
                    message = received.take(1)[0]
                    session.release([message])
                    if message.payload in sent:
                        continue
                    got.append(message.payload)
            finally:
                gateway.close()
            assert got == fresh
            sent.extend(fresh)
            session.flush_acks()


def test_every_connection_reads_through_a_buffer_of_its_own(tmp_path: Path, mosquitto: Mosquitto) -> None:
    """paho's ``_create_socket`` is what gives a connection its buffer (a private hook)."""
    received = Received()
    received.gate.set()
    with subscriber(tmp_path, mosquitto, received) as session:
        assert isinstance(session._client.socket(), BufferedSocket)
        restart(mosquitto, session)
        assert isinstance(session._client.socket(), BufferedSocket)


def test_most_of_a_backlog_is_cut_from_the_buffer_and_its_acks_go_out_together(mosquitto: Mosquitto) -> None:
    """Messages with MQTT 5 properties, so the direct path skips them correctly; together with the
    messages paho decoded, the backlog is whole and in order; ``ack_many`` reaches the broker (a
    publish after it is acknowledged, so the PUBACKs written before it were sent)."""
    got: list[tuple[str, bytes, int]] = []
    gate = threading.Event()

    def slow(_client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        gate.wait(30)
        got.append(("paho", bytes(message.payload), message.mid))

    def fast(publish: Publish) -> None:
        got.append(("buffer", publish.payload, publish.mid))

    client = _persistent_client(mosquitto, slow, fast)
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.UserProperty = ("origin", "kiosk" * 40)
    properties.MessageExpiryInterval = 3600
    gateway = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    gateway.connect(LOOPBACK, mosquitto.port)
    gateway.loop_start()
    try:
        infos = [gateway.publish("burst/t", payload(i), qos=1, properties=properties) for i in range(UNACKED)]
        for info in infos:
            info.wait_for_publish(10)
        gate.set()
        wait_until(lambda: len(got) >= UNACKED, 30, "the backlog")
        assert [message for _, message, _ in got] == [payload(i) for i in range(UNACKED)]
        assert sum(path == "buffer" for path, _, _ in got) > UNACKED // 2
        client.ack_many([mid for _, _, mid in got])
        client.publish("bye", b"", qos=1).wait_for_publish(10)
    finally:
        gate.set()
        client.disconnect()
        client.loop_stop()
    got.clear()
    client = _persistent_client(mosquitto, slow, fast)
    try:
        gateway.publish("burst/t", b"after", qos=1).wait_for_publish(10)
        wait_until(lambda: got, 10, "the next message")
        assert got[0][1] == b"after", "an acknowledged message came back"
    finally:
        client.disconnect()
        client.loop_stop()
        gateway.disconnect()
        gateway.loop_stop()


def _persistent_client(
    mosquitto: Mosquitto, on_message: Callable[..., None], on_publish_received: Callable[[Publish], None]
) -> BufferedClient:
    subscribed = threading.Event()
    client = BufferedClient(
        CallbackAPIVersion.VERSION2, client_id="burst", protocol=mqtt.MQTTv5, manual_ack=True
    )
    client.on_message = on_message
    client.on_publish_received = on_publish_received
    client.on_connect = lambda c, *_: c.subscribe("burst/#", qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    connect = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    connect.SessionExpiryInterval = 3600
    client.connect(LOOPBACK, mosquitto.port, clean_start=False, properties=connect)
    client.loop_start()
    if not subscribed.wait(10):
        client.loop_stop()
        raise TimeoutError("no subscription")
    return client
