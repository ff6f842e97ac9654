"""A cheap MQTT v5 QoS 1 load generator: pre-encoded PUBLISH packets written over a plain socket.

The ingest benchmarks run the publisher on the same two cores as the bridge they measure, and
paho spent 70-95 µs of CPU per message there (building each packet and its properties in Python,
a ``select`` and a ``send`` per packet, a callback per PUBACK): a third of the machine went to the
load generator. Here every PUBLISH packet is encoded into one buffer before the clock starts
(``encode_all``); during the run the publisher only writes slices of that buffer, as large as the
in-flight window allows, and reads PUBACKs in bulk.

It is still a real MQTT v5 client: CONNECT with clean start, the CONNACK's reason checked, no more
unacknowledged messages than the broker's Receive Maximum, every PUBACK read and checked in order
(a broker sends them in the order it received the messages, MQTT 5 §4.6), and any refusal, any
DISCONNECT from the broker or a closed connection raises ``BrokerRefusedError``: a benchmark run
with a lost message fails instead of waiting for points that never come.
"""

from __future__ import annotations

import bisect
import select
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from careedge_testkit import mqtt5_packets as packets
from careedge_testkit.mqtt5_packets import BrokerRefusedError
from careedge_testkit.servers import LOOPBACK

WRITE_CHUNK = 256 * 1024
"""Bytes per ``send`` at most: a few hundred small messages per system call."""
READ_SIZE = 64 * 1024
KEEPALIVE_S = 60
STALL_TIMEOUT_S = 60.0
"""How long the broker may neither accept bytes nor acknowledge a message before the run fails."""


@dataclass(frozen=True, slots=True)
class EncodedMessages:
    """PUBLISH packets back to back; ``ends[i]`` is the offset just past message ``i``."""

    data: bytes
    ends: list[int]

    def __len__(self) -> int:
        return len(self.ends)


def encode_all(messages: Sequence[tuple[str, bytes]]) -> EncodedMessages:
    """(topic, payload) pairs as QoS 1 PUBLISH packets, numbered as ``packet_id_of`` says."""
    parts: list[bytes] = []
    ends: list[int] = []
    offset = 0
    for index, (topic, payload) in enumerate(messages):
        packet = packets.publish(topic, payload, packets.packet_id_of(index))
        parts.append(packet)
        offset += len(packet)
        ends.append(offset)
    return EncodedMessages(b"".join(parts), ends)


class Qos1Publisher:
    """One MQTT v5 connection that publishes a pre-encoded stream and waits for every PUBACK.

    ``max_window`` caps the in-flight messages below the broker's Receive Maximum (None: up to it).
    """

    def __init__(self, port: int, client_id: str, *, host: str = LOOPBACK, max_window: int | None = None):
        self._address = (host, port)
        self._client_id = client_id
        self._max_window = max_window
        self._sock: socket.socket | None = None
        self._received = bytearray()
        self.receive_maximum = packets.RECEIVE_MAXIMUM_DEFAULT
        """What the broker's CONNACK allowed."""
        self.most_in_flight = 0
        """The largest number of unacknowledged messages seen during ``publish_all``."""

    def connect(self, timeout_s: float = 10.0) -> None:
        """Raises ``BrokerRefusedError`` when the CONNACK's reason is not success."""
        sock = socket.create_connection(self._address, timeout=timeout_s)
        self._sock = sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(packets.connect(self._client_id, KEEPALIVE_S))
        while (parsed := packets.parse_connack(self._received)) is None:
            self._receive(sock)
        connack, used = parsed
        del self._received[:used]
        if connack.reason != packets.SUCCESS:
            reason = packets.reason_text(connack.reason)
            raise BrokerRefusedError(f"the broker refused the connection: {reason}")
        self.receive_maximum = connack.receive_maximum

    @property
    def window(self) -> int:
        """Messages that may be unacknowledged at once."""
        cap = self.receive_maximum if self._max_window is None else self._max_window
        return min(cap, self.receive_maximum, packets.MAX_PACKET_ID)

    def publish_all(self, encoded: EncodedMessages) -> None:
        """Write every message and return once each has been acknowledged with success.

        Writes go out as soon as the window has room. Waiting for more room to write larger chunks
        stalls instead: a broker that does not set TCP_NODELAY holds its next PUBACKs back until
        this side's delayed TCP acknowledgement, which a write would have carried.
        """
        sock = self._connected()
        sock.setblocking(False)
        data = memoryview(encoded.data)
        ends = encoded.ends
        total = len(ends)
        window = self.window
        written = 0
        acked = 0
        try:
            while acked < total:
                allowed = ends[min(total, acked + window) - 1]
                writable = [sock] if written < allowed else []
                readable, can_write, _ = select.select([sock], writable, [], STALL_TIMEOUT_S)
                if not readable and not can_write:
                    raise TimeoutError(f"no progress for {STALL_TIMEOUT_S}s after {acked} of {total} PUBACKs")
                if can_write:
                    written += sock.send(data[written : min(allowed, written + WRITE_CHUNK)])
                    self.most_in_flight = max(self.most_in_flight, self._started(ends, written) - acked)
                if readable:
                    self._receive(sock)
                    acked, used = packets.consume_pubacks(self._received, acked)
                    del self._received[:used]
        except ConnectionError as exc:
            raise BrokerRefusedError(f"connection lost after {acked} of {total} PUBACKs: {exc}") from exc

    def close(self) -> None:
        """DISCONNECT (normal) when still connected, then close the socket."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            sock.setblocking(True)
            sock.sendall(packets.disconnect())
        except OSError:
            pass
        finally:
            sock.close()

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def _connected(self) -> socket.socket:
        if self._sock is None:
            raise RuntimeError("connect first")
        return self._sock

    def _receive(self, sock: socket.socket) -> None:
        chunk = sock.recv(READ_SIZE)
        if not chunk:
            raise ConnectionResetError("the broker closed the connection")
        self._received += chunk

    @staticmethod
    def _started(ends: list[int], written: int) -> int:
        """Messages whose first byte has been written."""
        return min(len(ends), bisect.bisect_left(ends, written) + 1) if written else 0
