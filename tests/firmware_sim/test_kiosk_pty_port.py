"""The simulated cable on a real pseudo-terminal: raw bytes, buffering, unplug and the stable link."""

from __future__ import annotations

import os
import select
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_sim.kiosk.pty_port import PtyPort

READ_TIMEOUT_S = 2.0


def read_exactly(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        ready, _, _ = select.select([fd], [], [], READ_TIMEOUT_S)
        assert ready, f"timed out with {data!r}"
        data += os.read(fd, size - len(data))
    return data


def open_reader(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_NOCTTY)


@pytest.fixture
def port(tmp_path: Path) -> Iterator[PtyPort]:
    opened = PtyPort(link=tmp_path / "kiosk-by-id")
    opened.open()
    yield opened
    opened.close()


def test_bytes_cross_unchanged_in_both_directions(port: PtyPort) -> None:
    reader = open_reader(port.device_path)
    try:
        message = b"\x0bMSH|^~\\&|A\rPID|1\r\x1c\r"
        assert port.write(message, timeout=1.0) == len(message)
        assert read_exactly(reader, len(message)) == message
        reply = b"\x0bMSA|AA|1\r\x1c\r"
        os.write(reader, reply)
        received = b""
        while len(received) < len(reply):
            chunk = port.read(READ_TIMEOUT_S)
            assert chunk, "no reply reached the kiosk"
            received += chunk
        assert received == reply
    finally:
        os.close(reader)


def test_bytes_written_before_the_reader_opens_are_kept(port: PtyPort) -> None:
    port.write(b"\x0bearly\r\x1c\r", timeout=1.0)
    reader = open_reader(port.device_path)
    try:
        assert read_exactly(reader, 9) == b"\x0bearly\r\x1c\r"
    finally:
        os.close(reader)


def test_a_reader_closing_the_port_does_not_break_the_kiosk_side(port: PtyPort) -> None:
    os.close(open_reader(port.device_path))
    assert port.read(0.05) == b""
    assert port.write(b"still here", timeout=1.0) == 10


def test_unplug_hangs_up_the_reader_removes_the_link_and_replug_repoints_it(
    port: PtyPort, tmp_path: Path
) -> None:
    link = tmp_path / "kiosk-by-id"
    old_slave = port.slave_path
    assert link.resolve() == old_slave
    reader = open_reader(link)
    try:
        port.unplug()
        assert not link.exists()
        assert not link.is_symlink()
        assert not old_slave.exists()
        assert os.read(reader, 10) == b""
        with pytest.raises(OSError, match="Input/output error"):
            os.write(reader, b"x")
        port.replug()
        assert port.slave_path != old_slave
        assert link.resolve() == port.slave_path
    finally:
        os.close(reader)
    new_reader = open_reader(link)
    try:
        port.write(b"back", timeout=1.0)
        assert read_exactly(new_reader, 4) == b"back"
    finally:
        os.close(new_reader)


def test_a_regular_file_at_the_link_path_is_not_replaced(tmp_path: Path) -> None:
    occupied = tmp_path / "ttyKIOSK"
    occupied.write_text("keep me")
    with pytest.raises(FileExistsError, match="not a symlink"):
        PtyPort(link=occupied).open()
    assert occupied.read_text() == "keep me"


def test_without_a_link_the_device_path_is_the_slave() -> None:
    port = PtyPort()
    port.open()
    try:
        assert port.device_path == port.slave_path
        assert str(port.slave_path).startswith("/dev/pts/")
    finally:
        port.close()
    with pytest.raises(RuntimeError, match="not open"):
        _ = port.slave_path
