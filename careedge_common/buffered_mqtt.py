"""A paho client that reads its socket in large chunks, for a stream of many small messages.

paho reads every packet with three or more ``recv`` calls (command byte, length bytes, body), each
after a ``select`` of its own, so the bridge, receiving thousands of small QoS 1 messages a second,
spent more CPU on system calls than on the messages. Here the socket paho gets is wrapped: ``recv``
is served from a buffer filled up to ``READ_SIZE`` bytes at a time, and ``pending`` says how much
is buffered, which paho already honours for TLS sockets (it does not wait in ``select`` and reads
on); ``loop_read`` handles up to ``BURST`` buffered packets per turn of paho's loop, so the
acknowledgements queued meanwhile go out together.

paho still owns the connection, its reconnects and its writes. Each connection paho opens gets a
new wrapper, so no byte of an old connection is ever read as part of a new one. Relies on paho's
``_create_socket`` (pinned paho-mqtt 2.2.0; ``test_buffered_mqtt`` checks it is still called).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

if TYPE_CHECKING:
    from paho.mqtt.client import SocketLike

READ_SIZE = 64 * 1024
BURST = 64
"""Packets read per turn of paho's loop at most: it also has keep-alives and writes to do."""


class BufferedSocket:
    """The socket of one connection, read ahead into a buffer; everything else goes through."""

    def __init__(self, sock: SocketLike) -> None:
        self._sock = sock
        self._buffer = bytearray()

    def recv(self, buffer_size: int) -> bytes:
        """Buffered bytes first; the socket (non-blocking, so it may raise) only once they are used."""
        if not self._buffer:
            data = self._sock.recv(max(buffer_size, READ_SIZE))
            if len(data) <= buffer_size:
                return data
            self._buffer += data
        chunk = bytes(self._buffer[:buffer_size])
        del self._buffer[:buffer_size]
        return chunk

    def pending(self) -> int:
        """Bytes readable without waiting for the network (paho's TLS hook)."""
        inner = getattr(self._sock, "pending", None)
        return len(self._buffer) + (inner() if inner is not None else 0)

    def send(self, buffer: bytes | bytearray) -> int:
        return self._sock.send(buffer)

    def close(self) -> None:
        self._sock.close()

    def fileno(self) -> int:
        return self._sock.fileno()

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class BufferedClient(mqtt.Client):
    def _create_socket(self) -> SocketLike:
        return BufferedSocket(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        result = super().loop_read(max_packets)
        for _ in range(BURST - 1):
            sock = self._sock
            if result != MQTTErrorCode.MQTT_ERR_SUCCESS or not isinstance(sock, BufferedSocket):
                break
            if not sock.pending():
                break
            result = super().loop_read(max_packets)
        return result
