"""The kiosk's end of a simulated serial cable: the master side of a pseudo-terminal pair.

The reader (the edge driver, a test) opens the slave path as it would open /dev/ttyUSB0. Checked on
Linux (kernel pty driver):

- The slave is put in raw mode before its path is published, so CR bytes (HL7's segment ends) are
  not turned into LF and nothing is echoed back to the kiosk.
- The simulator holds its own slave descriptor open. Without it, reading the master fails with EIO
  whenever no reader has the port open. With it, bytes written before a reader opens the port stay
  buffered (about 16 KiB, then writes would block) and an ``os.open`` reader receives them.
  pyserial's ``Serial.open`` flushes the input queue (``tcflush(TCIFLUSH)``), so a pyserial reader
  loses them; the kiosk recovers as a real one does, by resending after the ACK timeout.
- ``unplug`` closes both descriptors: the slave path disappears at once, and a reader still holding
  the old descriptor sees end of file (``read`` returns no bytes; pyserial raises
  ``SerialException``) and gets EIO on write. ``replug`` opens a new pair, usually under a new
  /dev/pts number (the old number is reused only after every reader has closed it).
- With ``link``, a symlink (like /dev/serial/by-id/...) points at the current slave. It is removed
  on unplug and recreated on replug, the way udev handles a USB serial adapter.
"""

from __future__ import annotations

import os
import select
import time
import tty
from pathlib import Path

READ_CHUNK = 4096


class PtyPort:
    """Not thread-safe: one thread owns the port (the simulator thread, or the test)."""

    def __init__(self, link: Path | None = None) -> None:
        self._link = link
        self._master: int | None = None
        self._slave: int | None = None
        self._slave_path: Path | None = None

    @property
    def is_open(self) -> bool:
        return self._master is not None

    @property
    def slave_path(self) -> Path:
        """The current /dev/pts path; raises ``RuntimeError`` while unplugged."""
        if self._slave_path is None:
            raise RuntimeError("the port is not open")
        return self._slave_path

    @property
    def device_path(self) -> Path:
        """What a reader should open: the stable link if there is one, else the slave path."""
        return self._link if self._link is not None else self.slave_path

    def open(self) -> None:
        """Create the pty pair (and link); raises ``FileExistsError`` if ``link`` is not a symlink."""
        if self._master is not None:
            raise RuntimeError("the port is already open")
        if self._link is not None and self._link.exists() and not self._link.is_symlink():
            raise FileExistsError(f"{self._link} exists and is not a symlink; refusing to replace it")
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._slave_path = Path(os.ttyname(slave))
        if self._link is not None:
            staging = self._link.with_name(f".{self._link.name}.{os.getpid()}.new")
            staging.unlink(missing_ok=True)
            staging.symlink_to(self._slave_path)
            staging.replace(self._link)

    def unplug(self) -> None:
        """Pull the cable: close both ends and remove the link. Idempotent."""
        if self._link is not None and self._link.is_symlink():
            self._link.unlink()
        for descriptor in (self._master, self._slave):
            if descriptor is not None:
                os.close(descriptor)
        self._master = self._slave = None
        self._slave_path = None

    def replug(self) -> None:
        self.unplug()
        self.open()

    def close(self) -> None:
        self.unplug()

    def write(self, data: bytes, timeout: float) -> int:
        """Write as much of ``data`` as the reader's buffer takes within ``timeout`` s; return the count."""
        master = self._require_master()
        deadline = time.monotonic() + timeout
        written = 0
        while written < len(data):
            try:
                written += os.write(master, data[written:])
                continue
            except BlockingIOError:
                remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            select.select([], [master], [], remaining)
        return written

    def read(self, timeout: float) -> bytes:
        """Bytes the reader sent, waiting up to ``timeout`` s; ``b""`` when none arrived."""
        master = self._require_master()
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(master, READ_CHUNK)
        except BlockingIOError:
            return b""

    def _require_master(self) -> int:
        if self._master is None:
            raise RuntimeError("the port is not open")
        return self._master
