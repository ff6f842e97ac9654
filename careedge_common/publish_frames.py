"""Incoming QoS 1 PUBLISH packets cut out of a receive buffer, as a pure function on bytes.

paho decodes each PUBLISH into an ``MQTTMessage`` (with an ``MQTTMessageInfo`` holding a
``threading.Condition``), a ``Properties`` object and a topic match against its per-filter
callbacks: about a seventh of the bridge's CPU at ten thousand messages a second. The bridge
needs only the topic, payload, packet identifier and retain flag, so a buffer of complete QoS 1
PUBLISH packets is cut up here; anything else (another packet type, QoS 0 or 2, a topic alias, a
topic that is not UTF-8, a packet still incomplete, a malformed one) ends the run and is left to
paho, which handles every case.
"""

from __future__ import annotations

from typing import NamedTuple

PUBLISH_QOS1_MASK = 0xF6
"""Packet type and QoS bits of a PUBLISH's first byte (DUP 0x08 and RETAIN 0x01 masked out)."""
PUBLISH_QOS1 = 0x32
RETAIN = 0x01
MAX_LENGTH_BYTES = 4


class Publish(NamedTuple):
    topic: str
    payload: bytes
    mid: int
    retain: bool


def read_varint(data: bytes | bytearray, pos: int, end: int) -> tuple[int, int] | None:
    """MQTT's Variable Byte Integer at ``pos``: (value, position after it), or None when it is
    incomplete before ``end`` or longer than 4 bytes."""
    value = 0
    for shift in range(0, 7 * MAX_LENGTH_BYTES, 7):
        if pos >= end:
            return None
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
    return None


def take_publishes(data: bytes | bytearray, v5: bool) -> tuple[list[Publish], int]:
    """The complete QoS 1 PUBLISH packets at the start of ``data``, and how many bytes they take.

    Stops at the first packet that is not one (see module docstring); ``v5``: the packets carry a
    properties section (MQTT 5), which is skipped.
    """
    found: list[Publish] = []
    pos = 0
    size = len(data)
    while pos < size and data[pos] & PUBLISH_QOS1_MASK == PUBLISH_QOS1:
        header = read_varint(data, pos + 1, size)
        if header is None:
            break
        length, start = header
        end = start + length
        if end > size or length < 4:
            break
        topic_end = start + 2 + (data[start] << 8 | data[start + 1])
        if topic_end == start + 2 or topic_end + 2 > end:
            break
        body = topic_end + 2
        if v5:
            properties = read_varint(data, body, end)
            if properties is None or properties[1] + properties[0] > end:
                break
            body = properties[1] + properties[0]
        try:
            topic = data[start + 2 : topic_end].decode()
        except UnicodeDecodeError:
            break
        mid = data[topic_end] << 8 | data[topic_end + 1]
        found.append(Publish(topic, bytes(data[body:end]), mid, bool(data[pos] & RETAIN)))
        pos = end
    return found, pos
