"""The benchmarks' load generator: a real MQTT v5 QoS 1 client, checked against Mosquitto and on bytes."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from careedge_common.publish_frames import take_publishes
from careedge_testkit import mqtt5_packets as packets
from careedge_testkit.mqtt5_packets import BrokerRefusedError
from careedge_testkit.mqtt_capture import MqttCapture
from careedge_testkit.qos1_publisher import Qos1Publisher, encode_all
from careedge_testkit.servers import LOOPBACK, Mosquitto


def _messages(count: int) -> list[tuple[str, bytes]]:
    return [(f"t/{index % 7}", f"message {index} ".encode() * (1 + index % 50)) for index in range(count)]


def test_every_message_arrives_byte_exact_in_order_within_the_brokers_receive_maximum() -> None:
    messages = _messages(3000)
    with (
        Mosquitto("max_inflight_messages 10\n") as broker,
        MqttCapture(broker.port, ["t/#"]) as capture,
        Qos1Publisher(broker.port, "bench-pub") as publisher,
    ):
        publisher.publish_all(encode_all(messages))
        assert publisher.receive_maximum == 10
        assert publisher.most_in_flight > 1, "messages go out without waiting for each PUBACK"
        capture.wait_for(lambda got: len(got) >= len(messages), 30, "every message")
        assert [(m.topic, m.payload) for m in capture.messages] == messages


class WindowWatchingBroker:
    """A scripted MQTT 5 broker on a loopback socket that counts, on its side of the connection,
    how many messages are unacknowledged: Mosquitto 2.0.11 does not refuse a client that exceeds
    its Receive Maximum, so it cannot show that the publisher keeps to it. It announces
    ``receive_maximum`` and acknowledges the oldest message only once ``window`` are unacknowledged
    (or nothing more is due), so a publisher that keeps to that window fills it exactly and one
    that does not shows more."""

    def __init__(self, receive_maximum: int, window: int, expected: int) -> None:
        self._receive_maximum = receive_maximum
        self._window = window
        self._expected = expected
        self._listener = socket.create_server((LOOPBACK, 0))
        self.port = self._listener.getsockname()[1]
        self.most_unacknowledged = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> WindowWatchingBroker:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._listener.close()
        self._thread.join(10)

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        with connection:
            received = bytearray()
            while (header := packets.read_varint(received, 1)) is None or len(received) < sum(header):
                received += connection.recv(4096)
            del received[: sum(header)]
            receive_maximum = self._receive_maximum.to_bytes(2, "big")
            connection.sendall(_connack(bytes([packets.RECEIVE_MAXIMUM]) + receive_maximum))
            self._acknowledge_when_full(connection, received)

    def _acknowledge_when_full(self, connection: socket.socket, received: bytearray) -> None:
        unacknowledged: list[int] = []
        arrived = 0
        while arrived < self._expected or unacknowledged:
            if arrived < self._expected and len(unacknowledged) < self._window:
                received += connection.recv(4096)
                found, used = take_publishes(received, v5=True)
                del received[:used]
                arrived += len(found)
                unacknowledged += [publish.mid for publish in found]
                self.most_unacknowledged = max(self.most_unacknowledged, len(unacknowledged))
            else:
                connection.sendall(_puback(unacknowledged.pop(0)))


@pytest.mark.parametrize(("receive_maximum", "max_window", "window"), [(5, None, 5), (50, 7, 7), (6, 40, 6)])
def test_no_more_messages_are_unacknowledged_than_the_window_allows(
    receive_maximum: int, max_window: int | None, window: int
) -> None:
    messages = _messages(60)
    with (
        WindowWatchingBroker(receive_maximum, window, len(messages)) as broker,
        Qos1Publisher(broker.port, "bench-pub", max_window=max_window) as publisher,
    ):
        publisher.publish_all(encode_all(messages))
    assert broker.most_unacknowledged == window


def test_packet_identifiers_wrap_after_65535_messages() -> None:
    messages = [("t/x", index.to_bytes(3, "big")) for index in range(packets.MAX_PACKET_ID + 100)]
    with (
        Mosquitto() as broker,
        MqttCapture(broker.port, ["t/#"]) as capture,
        Qos1Publisher(broker.port, "bench-pub", max_window=500) as publisher,
    ):
        publisher.publish_all(encode_all(messages))
        capture.wait_for(lambda got: len(got) >= len(messages), 60, "every message")
        assert [m.payload for m in capture.messages] == [payload for _, payload in messages]


def test_a_refused_message_fails_the_run_naming_the_reason(tmp_path: Path) -> None:
    acl = tmp_path / "acl"
    acl.write_text("topic readwrite t/#\n")
    acl.chmod(0o644)
    with (
        Mosquitto(f"acl_file {acl}\n") as broker,
        MqttCapture(broker.port, ["t/#"]),
        Qos1Publisher(broker.port, "bench-pub") as publisher,
        pytest.raises(BrokerRefusedError, match=r"message 1 \(packet 2\) refused: .*0x87 \(not authorized\)"),
    ):
        publisher.publish_all(encode_all([("t/1", b"a"), ("denied/1", b"b"), ("t/2", b"c")]))


def test_a_message_nobody_subscribed_to_fails_the_run() -> None:
    with (
        Mosquitto() as broker,
        Qos1Publisher(broker.port, "bench-pub") as publisher,
        pytest.raises(BrokerRefusedError, match=r"0x10 \(no matching subscribers\)"),
    ):
        publisher.publish_all(encode_all([("t/1", b"a")]))


def test_a_dropped_connection_fails_the_run_with_the_progress_made() -> None:
    with (
        Mosquitto() as broker,
        MqttCapture(broker.port, ["t/#"]),
        Qos1Publisher(broker.port, "bench-pub") as publisher,
        pytest.raises(BrokerRefusedError, match="connection lost after 1 of 3 PUBACKs"),
    ):
        publisher.publish_all(
            encode_all([("t/1", b"a"), ("t/+", b"wildcards are not topic names"), ("t/2", b"c")])
        )


def _puback(packet_id: int, reason: int | None = None) -> bytes:
    body = packet_id.to_bytes(2, "big") + (b"" if reason is None else bytes([reason, 0]))
    return bytes([packets.PUBACK, len(body)]) + body


def _connack(properties: bytes) -> bytes:
    body = bytes([0, packets.SUCCESS]) + packets.varint(len(properties)) + properties
    return bytes([packets.CONNACK]) + packets.varint(len(body)) + body


def test_pubacks_split_anywhere_are_counted_once_each() -> None:
    stream = _puback(1) + _puback(2, packets.SUCCESS) + _puback(3)
    for cut in range(len(stream) + 1):
        acked, used = packets.consume_pubacks(stream[:cut], 0)
        acked, rest = packets.consume_pubacks(stream[used:], acked)
        assert (acked, used + rest) == (3, len(stream))


def test_a_puback_out_of_order_or_a_disconnect_is_an_error() -> None:
    with pytest.raises(BrokerRefusedError, match="PUBACK for packet 3 where 2 was due"):
        packets.consume_pubacks(_puback(1) + _puback(3), 0)
    with pytest.raises(BrokerRefusedError, match=r"disconnected after 1 PUBACKs: .*0x93"):
        packets.consume_pubacks(_puback(1) + bytes([packets.DISCONNECT, 1, 0x93]), 0)


def test_connack_gives_the_receive_maximum_among_other_properties() -> None:
    properties = (
        bytes([0x24, 1]) + bytes([0x12, 0, 3]) + b"abc" + bytes([packets.RECEIVE_MAXIMUM, 0x01, 0x00])
    )
    connack = _connack(properties)
    assert packets.parse_connack(connack[:-1]) is None
    assert packets.parse_connack(connack) == (packets.Connack(packets.SUCCESS, 256), len(connack))


def test_varints_round_trip_at_each_length_boundary() -> None:
    for value in (0, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455):
        encoded = packets.varint(value)
        assert packets.read_varint(encoded, 0) == (value, len(encoded))
        assert packets.read_varint(encoded[:-1], 0) is None
