"""QoS 1 PUBLISH packets cut from a receive buffer (``careedge_common.publish_frames``), on bytes."""

from __future__ import annotations

import struct

import pytest

from careedge_common.publish_frames import Publish, take_publishes
from careedge_testkit.mqtt5_packets import varint

USER_PROPERTY = 0x26
MESSAGE_EXPIRY = 0x02


def publish_packet(
    topic: bytes, payload: bytes, mid: int, *, first_byte: int = 0x32, properties: bytes | None = b""
) -> bytes:
    """``properties`` None: an MQTT 3.1.1 packet (no properties section)."""
    body = struct.pack("!H", len(topic)) + topic + struct.pack("!H", mid)
    if properties is not None:
        body += varint(len(properties)) + properties
    return bytes([first_byte]) + varint(len(body + payload)) + body + payload


def user_property(key: bytes, value: bytes) -> bytes:
    return bytes([USER_PROPERTY]) + struct.pack("!H", len(key)) + key + struct.pack("!H", len(value)) + value


STREAM = [
    (publish_packet(b"a/b", b"one", 1), Publish("a/b", b"one", 1, False)),
    (
        publish_packet(b"a/c", b"", 2, first_byte=0x3B, properties=user_property(b"k", b"v" * 300)),
        Publish("a/c", b"", 2, True),
    ),
    (
        publish_packet(
            b"\xc3\xa9t\xc3\xa9", b"x" * 20_000, 65535, properties=bytes([MESSAGE_EXPIRY, 0, 0, 0, 9])
        ),
        Publish("été", b"x" * 20_000, 65535, False),
    ),
]


def test_a_stream_cut_anywhere_yields_each_complete_packet_once_in_order() -> None:
    data = b"".join(packet for packet, _ in STREAM)
    expected = [publish for _, publish in STREAM]
    for cut in [*range(0, 400), *range(len(data) - 300, len(data) + 1)]:
        first, used = take_publishes(data[:cut], v5=True)
        rest, rest_used = take_publishes(data[used:], v5=True)
        assert first + rest == expected
        assert used + rest_used == len(data)
        assert used == sum(len(packet) for packet, _ in STREAM[: len(first)])


def test_mqtt_311_packets_have_no_properties_section() -> None:
    packet = publish_packet(b"a/b", b"\x00payload", 7, properties=None)
    assert take_publishes(packet, v5=False) == ([Publish("a/b", b"\x00payload", 7, False)], len(packet))


@pytest.mark.parametrize(
    ("packet", "why"),
    [
        (publish_packet(b"a/b", b"qos0", 1, first_byte=0x30), "QoS 0"),
        (publish_packet(b"a/b", b"qos2", 1, first_byte=0x34), "QoS 2"),
        (bytes([0x40, 2, 0, 1]), "a PUBACK"),
        (publish_packet(b"", b"aliased", 1, properties=bytes([0x23, 0, 1])), "a topic alias"),
        (publish_packet(b"\xff\xfe", b"x", 1), "a topic that is not UTF-8"),
        (bytes([0x32, 8, 0, 3, 0x61, 0x2F, 0x62, 0, 1, 50]), "properties longer than the packet"),
        (bytes([0x32, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]), "a remaining length over four bytes"),
        (bytes([0x32, 6, 0, 9, 0x61, 0x62, 0, 1]), "a topic longer than the packet"),
    ],
)
def test_anything_else_is_left_to_paho_with_what_came_before_it(packet: bytes, why: str) -> None:
    first = publish_packet(b"a/b", b"before", 1)
    assert take_publishes(first + packet + first, v5=True) == (
        [Publish("a/b", b"before", 1, False)],
        len(first),
    ), why
