"""The few MQTT v5 packets a QoS 1 load generator needs, as pure functions on bytes.

Encoding: CONNECT, PUBLISH (QoS 1, no properties) and DISCONNECT. Decoding: CONNACK (its reason
code and the broker's Receive Maximum) and a stream of PUBACKs, which a broker must send in the
order the PUBLISH packets arrived (MQTT 5 §4.6), so each one is checked against the packet
identifier expected next. Anything else from the broker (a DISCONNECT with its reason, an unknown
packet, a failed PUBACK) raises ``BrokerRefusedError``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from careedge_common import publish_frames

CONNECT = 0x10
CONNACK = 0x20
PUBLISH_QOS1 = 0x32
PUBACK = 0x40
DISCONNECT = 0xE0
PROTOCOL_NAME = b"\x00\x04MQTT"
PROTOCOL_V5 = 5
CLEAN_START = 0x02
RECEIVE_MAXIMUM = 0x21
"""Property identifier of Receive Maximum (two-byte integer)."""
RECEIVE_MAXIMUM_DEFAULT = 65535
"""What a broker allows when its CONNACK does not say (MQTT 5 §3.2.2.3.3)."""
MAX_PACKET_ID = 65535
SUCCESS = 0x00
REASONS = {
    0x10: "no matching subscribers",
    0x80: "unspecified error",
    0x87: "not authorized",
    0x90: "topic name invalid",
    0x93: "receive maximum exceeded",
    0x95: "packet too large",
    0x97: "quota exceeded",
    0x99: "payload format invalid",
}
"""Reason codes a broker may give a publisher, named in errors (MQTT 5 §2.4)."""
_TWO_BYTE_PROPERTIES = {0x13, 0x21, 0x22}
_FOUR_BYTE_PROPERTIES = {0x02, 0x11, 0x18, 0x27}
_ONE_BYTE_PROPERTIES = {0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A}
_STRING_PROPERTIES = {0x03, 0x08, 0x12, 0x15, 0x16, 0x1A, 0x1C, 0x1F}


class BrokerRefusedError(Exception):
    """The broker refused a connection or a message, disconnected, or broke the protocol."""


@dataclass(frozen=True, slots=True)
class Connack:
    reason: int
    receive_maximum: int


def varint(value: int) -> bytes:
    """MQTT's Variable Byte Integer: seven bits per byte, least significant first."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def read_varint(data: bytes | bytearray, pos: int) -> tuple[int, int] | None:
    """(value, position after it), or None when ``data`` ends inside it."""
    decoded = publish_frames.read_varint(data, pos, len(data))
    if decoded is None and len(data) - pos >= publish_frames.MAX_LENGTH_BYTES:
        raise BrokerRefusedError("malformed variable byte integer from the broker")
    return decoded


def _string(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return struct.pack("!H", len(raw)) + raw


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes([first_byte]) + varint(len(body)) + body


def connect(client_id: str, keepalive_s: int) -> bytes:
    """Clean start, no properties, no will, no credentials."""
    variable = PROTOCOL_NAME + bytes([PROTOCOL_V5, CLEAN_START]) + struct.pack("!H", keepalive_s) + b"\x00"
    return _packet(CONNECT, variable + _string(client_id))


def publish(topic: str, payload: bytes, packet_id: int) -> bytes:
    """QoS 1, not retained, not a duplicate, no properties."""
    return _packet(PUBLISH_QOS1, _string(topic) + struct.pack("!H", packet_id) + b"\x00" + payload)


def disconnect() -> bytes:
    """Normal disconnection (reason 0, no properties)."""
    return bytes([DISCONNECT, 0])


def packet_id_of(index: int) -> int:
    """The identifier of the ``index``-th message (from 0): 1 to 65535, then round again. Reusing
    one is safe once its PUBACK is in, which the in-flight window (at most 65535) guarantees."""
    return index % MAX_PACKET_ID + 1


def parse_connack(data: bytes | bytearray) -> tuple[Connack, int] | None:
    """The CONNACK at the start of ``data`` and its length, or None while incomplete."""
    header = _header(data, 0)
    if header is None:
        return None
    first_byte, start, end = header
    if first_byte == DISCONNECT:
        raise BrokerRefusedError(f"the broker disconnected before CONNACK: {_reason(data, start, end)}")
    if first_byte != CONNACK:
        raise BrokerRefusedError(f"expected CONNACK, got packet type 0x{first_byte:02x}")
    reason = data[start + 1]
    receive_maximum = RECEIVE_MAXIMUM_DEFAULT
    decoded = read_varint(data, start + 2)
    if decoded is None:
        raise BrokerRefusedError("truncated CONNACK properties")
    length, pos = decoded
    properties_end = pos + length
    while pos < properties_end:
        identifier = data[pos]
        pos += 1
        if identifier == RECEIVE_MAXIMUM:
            receive_maximum = struct.unpack_from("!H", data, pos)[0]
        pos += _property_size(identifier, data, pos)
    return Connack(reason, receive_maximum), end


def _property_size(identifier: int, data: bytes | bytearray, pos: int) -> int:
    if identifier in _ONE_BYTE_PROPERTIES:
        return 1
    if identifier in _TWO_BYTE_PROPERTIES:
        return 2
    if identifier in _FOUR_BYTE_PROPERTIES:
        return 4
    if identifier in _STRING_PROPERTIES:
        return 2 + int(struct.unpack_from("!H", data, pos)[0])
    if identifier == 0x26:
        key = 2 + int(struct.unpack_from("!H", data, pos)[0])
        return key + 2 + int(struct.unpack_from("!H", data, pos + key)[0])
    raise BrokerRefusedError(f"unknown CONNACK property 0x{identifier:02x}")


def _header(data: bytes | bytearray, pos: int) -> tuple[int, int, int] | None:
    """(first byte, start of the body, end of the packet) of the packet at ``pos``, None if incomplete."""
    if pos >= len(data):
        return None
    decoded = read_varint(data, pos + 1)
    if decoded is None:
        return None
    length, start = decoded
    if start + length > len(data):
        return None
    return data[pos], start, start + length


def reason_text(code: int) -> str:
    return f"reason code 0x{code:02x} ({REASONS.get(code, 'see MQTT 5 §2.4')})"


def _reason(data: bytes | bytearray, start: int, end: int) -> str:
    return reason_text(data[start]) if end > start else "no reason code"


def consume_pubacks(data: bytes | bytearray, acked: int) -> tuple[int, int]:
    """Check the PUBACKs at the start of ``data``, the first being for message number ``acked``.

    Returns (messages acknowledged in all, bytes consumed); a trailing partial packet is left for
    the next read. Raises ``BrokerRefusedError`` on a PUBACK whose reason is not success, one out of
    order, a DISCONNECT or any other packet.
    """
    pos = 0
    size = len(data)
    while pos < size:
        if data[pos] == PUBACK and pos + 4 <= size and data[pos + 1] == 2:
            packet_id = data[pos + 2] << 8 | data[pos + 3]
            reason = SUCCESS
            pos += 4
        else:
            header = _header(data, pos)
            if header is None:
                break
            first_byte, start, pos = header
            if first_byte == DISCONNECT:
                raise BrokerRefusedError(
                    f"the broker disconnected after {acked} PUBACKs: {_reason(data, start, pos)}"
                )
            if first_byte != PUBACK or pos - start < 2:
                raise BrokerRefusedError(f"unexpected packet 0x{first_byte:02x} after {acked} PUBACKs")
            packet_id = data[start] << 8 | data[start + 1]
            reason = data[start + 2] if pos - start > 2 else SUCCESS
        if packet_id != packet_id_of(acked):
            raise BrokerRefusedError(
                f"PUBACK for packet {packet_id} where {packet_id_of(acked)} was due (message {acked})"
            )
        if reason != SUCCESS:
            raise BrokerRefusedError(f"message {acked} (packet {packet_id}) refused: {reason_text(reason)}")
        acked += 1
    return acked, pos
