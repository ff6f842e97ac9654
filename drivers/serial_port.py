"""A thin asyncio face on pyserial for byte-stream devices (HL7-MLLP and ASTM kiosks).

``port`` is anything ``serial.serial_for_url`` opens: a device path (/dev/ttyUSB0), a pty path, or a
URL such as ``socket://host:port``. Blocking calls run on two threads owned by the port, one for
reads and one for writes, so a gateway with many devices never exhausts asyncio's shared default
executor and an ACK is never queued behind a read that is waiting for data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import serial

from careedge_common.config import SerialSettings
from drivers.contract import DeviceDisconnected, DeviceUnavailable

READ_WAIT_S = 0.1
"""How long one read waits for a first byte: bounds how late ``close`` takes effect."""

_T = TypeVar("_T")


class SerialPort:
    """One use of one port: open, read and write, close. Reopening takes a new ``SerialPort``."""

    def __init__(self, port: str, settings: SerialSettings) -> None:
        self._port = port
        self._settings = settings
        self._serial: serial.SerialBase | None = None
        self._closed = False
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"serial-read {port}")
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"serial-write {port}")

    async def open(self) -> None:
        """Open the port for exclusive use; raise ``DeviceUnavailable`` (missing, busy, no permission,
        or an URL pyserial does not know)."""
        try:
            self._serial = await self._run(self._reader, self._open_blocking)
        except (serial.SerialException, OSError, ValueError) as exc:
            await self.close()
            raise DeviceUnavailable(f"cannot open {self._port}: {exc}") from exc

    async def read(self) -> bytes:
        """The bytes that arrived, waiting at most ``READ_WAIT_S`` for the first: b"" when none did.

        Raises ``DeviceDisconnected`` when the device went away (EIO, a closed pty or socket) or the
        port was closed.
        """
        return await self._run(self._reader, self._read_blocking)

    async def write(self, data: bytes) -> None:
        """Send ``data`` whole; raise ``DeviceDisconnected`` when the device is gone."""
        await self._run(self._writer, lambda: self._write_blocking(data))

    async def close(self) -> None:
        """Close the port after any read in progress returns. Safe to call twice and after a failed open."""
        port, self._serial = self._serial, None
        if port is not None:
            await self._run(self._reader, port.close)
        self._closed = True
        self._reader.shutdown(wait=False)
        self._writer.shutdown(wait=False)

    async def _run(self, executor: ThreadPoolExecutor, call: Callable[[], _T]) -> _T:
        if self._closed:
            raise DeviceDisconnected(f"{self._port} is closed")
        return await asyncio.get_running_loop().run_in_executor(executor, call)

    def _open_blocking(self) -> serial.SerialBase:
        settings = self._settings
        return serial.serial_for_url(
            self._port,
            baudrate=settings.baudrate,
            bytesize=settings.bytesize,
            parity=settings.parity,
            stopbits=settings.stopbits,
            timeout=READ_WAIT_S,
            exclusive=True,
        )

    def _read_blocking(self) -> bytes:
        port = self._open_port()
        try:
            first = port.read(1)
            return first + port.read_all() if first else first
        except (serial.SerialException, OSError) as exc:
            raise DeviceDisconnected(f"{self._port}: {exc}") from exc

    def _write_blocking(self, data: bytes) -> None:
        port = self._open_port()
        try:
            port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise DeviceDisconnected(f"{self._port}: {exc}") from exc

    def _open_port(self) -> serial.SerialBase:
        port = self._serial
        if port is None or not port.is_open:
            raise DeviceDisconnected(f"{self._port} is closed")
        return port
