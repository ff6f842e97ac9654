"""A paho client that reads its socket in large chunks, for a stream of many small messages.

paho reads every packet with three or more ``recv`` calls (command byte, length bytes, body), each
after a ``select`` of its own, so the bridge, receiving thousands of small QoS 1 messages a second,
spent more CPU on system calls than on the messages. Here the socket paho gets is wrapped: ``recv``
is served from a buffer filled up to ``READ_SIZE`` bytes at a time, and ``pending`` says how much
is buffered, which paho already honours for TLS sockets (it does not wait in ``select`` and reads
on); ``loop_read`` empties the buffer (up to ``BURST`` packets through paho) per turn of paho's
loop, so the acknowledgements queued meanwhile go out together.

When ``on_publish_received`` is set, complete QoS 1 PUBLISH packets already in the buffer are cut
out directly (``publish_frames``) and handed to it, without paho's per-message objects; paho reads
everything else, including the first packet of each read. ``ack_many`` queues the PUBACKs of many
messages as one write, where paho's ``ack`` queues one packet, wakes its network thread through a
socket pair and later sends it with a ``send`` of its own, per message.

paho still owns the connection, its reconnects and its writes. Each connection paho opens gets a
new wrapper, so no byte of an old connection is ever read as part of a new one. Relies on paho's
``_create_socket``, ``_packet_read``, ``_loop_rc_handle``, ``_in_packet``, ``_packet_queue`` and
``_msgtime_mutex`` (pinned paho-mqtt 2.2.0; ``tests/cloud_bridge/test_subscriber_bursts.py`` checks
that they still work).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from careedge_common.publish_frames import Publish, take_publishes

if TYPE_CHECKING:
    from paho.mqtt.client import SocketLike

READ_SIZE = 64 * 1024
BURST = 64
"""Reads from the buffer per turn of paho's loop at most: it also has keep-alives and writes to do."""
PUBACK = struct.Struct("!BBH")


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

    def take_publishes(self, v5: bool) -> list[Publish]:
        """Remove the complete QoS 1 PUBLISH packets at the front of the buffer and return them."""
        found, used = take_publishes(self._buffer, v5)
        del self._buffer[:used]
        return found

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
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_publish_received: Callable[[Publish], None] | None = None
        """Called, on the network thread, for each QoS 1 message read from the buffer directly;
        messages paho decodes still go to ``on_message``."""

    def _create_socket(self) -> SocketLike:
        return BufferedSocket(super()._create_socket())

    def ack_many(self, mids: Sequence[int]) -> None:
        """PUBACKs for these QoS 1 messages (manual acknowledgement), queued as one write."""
        if mids:
            packet = b"".join([PUBACK.pack(mqtt.PUBACK, 2, mid) for mid in mids])
            self._packet_queue(mqtt.PUBACK, packet, 0, 0)

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """One packet through paho (which reads the socket when the buffer is empty), then what the
        buffer holds: its QoS 1 PUBLISH packets directly, anything else through paho, one packet
        at a time, for up to ``BURST`` turns. paho's own ``loop_read`` would decode as many
        packets as it has messages in flight, which with alerts being published is many."""
        for _ in range(BURST):
            sock = self._sock
            if sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            result = self._packet_read()
            if result > 0:
                return self._loop_rc_handle(result)
            if result == MQTTErrorCode.MQTT_ERR_AGAIN or not isinstance(sock, BufferedSocket):
                return MQTTErrorCode.MQTT_ERR_SUCCESS
            if self._sock is not sock:
                return MQTTErrorCode.MQTT_ERR_SUCCESS
            self._deliver_buffered(sock)
            if not sock.pending():
                return MQTTErrorCode.MQTT_ERR_SUCCESS
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _deliver_buffered(self, sock: BufferedSocket) -> None:
        """Only between packets: paho may hold the first bytes of one it has started reading."""
        receiver = self.on_publish_received
        if receiver is None or self._in_packet["command"] != 0:
            return
        found = sock.take_publishes(self._protocol == mqtt.MQTTv5)
        if not found:
            return
        with self._msgtime_mutex:
            self._last_bytes_received = mqtt.time_func()
        for publish in found:
            receiver(publish)
