"""The serial port wrapper on real ptys and a real loopback socket (pyserial's socket:// URL)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from careedge_common.config import SerialSettings
from careedge_testkit.servers import wait_until
from drivers.contract import DeviceDisconnected, DeviceUnavailable
from drivers.serial_port import SerialPort

WAIT_S = 5.0


async def _read_exactly(port: SerialPort, size: int) -> bytes:
    async def collect() -> bytes:
        received = b""
        while len(received) < size:
            received += await port.read()
        return received

    return await asyncio.wait_for(collect(), WAIT_S)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(WAIT_S)
    yield server
    server.close()


async def test_bytes_flow_both_ways_over_a_pty(pty_pair) -> None:
    port = SerialPort(pty_pair.path, SerialSettings(baudrate=9600))
    await port.open()

    pty_pair.send(b"\x0bhello\x1c\r")
    assert await _read_exactly(port, 8) == b"\x0bhello\x1c\r"
    await port.write(b"ACK")
    assert await asyncio.to_thread(pty_pair.receive, 3) == b"ACK"

    await port.close()


async def test_read_with_nothing_arriving_returns_empty(pty_pair) -> None:
    port = SerialPort(pty_pair.path, SerialSettings())
    await port.open()

    assert await port.read() == b""

    await port.close()


async def test_closed_master_is_a_disconnect_for_read_and_write(pty_pair) -> None:
    port = SerialPort(pty_pair.path, SerialSettings())
    await port.open()

    pty_pair.hang_up()

    with pytest.raises(DeviceDisconnected):
        await _read_exactly(port, 1)
    with pytest.raises(DeviceDisconnected):
        await port.write(b"ACK")
    await port.close()


async def test_port_is_opened_for_exclusive_use(pty_pair) -> None:
    first = SerialPort(pty_pair.path, SerialSettings())
    second = SerialPort(pty_pair.path, SerialSettings())
    await first.open()

    with pytest.raises(DeviceUnavailable, match="lock"):
        await second.open()

    await second.close()
    await first.close()


async def test_missing_device_is_unavailable_and_leaves_no_thread() -> None:
    port = SerialPort("/dev/careedge-no-such-tty", SerialSettings())

    with pytest.raises(DeviceUnavailable, match="careedge-no-such-tty"):
        await port.open()

    await asyncio.to_thread(
        wait_until,
        lambda: not [t for t in threading.enumerate() if "careedge-no-such-tty" in t.name],
        WAIT_S,
        "the port's threads to end",
    )


async def test_unknown_url_scheme_is_unavailable() -> None:
    port = SerialPort("carrier-pigeon://coop", SerialSettings())

    with pytest.raises(DeviceUnavailable, match="carrier-pigeon"):
        await port.open()
    await port.close()


async def test_use_after_close_is_a_disconnect(pty_pair) -> None:
    port = SerialPort(pty_pair.path, SerialSettings())
    await port.open()
    await port.close()
    await port.close()

    with pytest.raises(DeviceDisconnected):
        await port.read()
    with pytest.raises(DeviceDisconnected):
        await port.write(b"x")


async def test_socket_url_reads_writes_and_reports_the_peer_closing(listener: socket.socket) -> None:
    host, number = listener.getsockname()
    port = SerialPort(f"socket://{host}:{number}", SerialSettings())
    await port.open()
    peer, _ = await asyncio.to_thread(listener.accept)

    with peer:
        peer.sendall(b"\x0bMSH|x\r\x1c\r")
        assert await _read_exactly(port, 9) == b"\x0bMSH|x\r\x1c\r"
        await port.write(b"ACK")
        peer.settimeout(WAIT_S)
        assert peer.recv(3) == b"ACK"

    with pytest.raises(DeviceDisconnected):
        await _read_exactly(port, 1)
    await port.close()
