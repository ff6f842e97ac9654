"""A simulated RS-485 cable: two pseudo-terminals joined master to master.

The simulated controller opens one slave path and the driver the other, each with pyserial, as
they would open /dev/ttyUSB0 on the two ends of a real cable; bytes written on one end come out
of the other unchanged (both slaves are raw). Each slave descriptor is also held open here, so a
master read never fails with EIO while an end is closed (see firmware_sim/kiosk/pty_port.py).
"""

from __future__ import annotations

import asyncio
import os
import tty
from pathlib import Path

READ_CHUNK = 4096


class NullModem:
    """``open`` inside the event loop that relays; ``close`` in the same loop. Not thread-safe."""

    def __init__(self) -> None:
        self._fds: list[int] = []
        self._masters: tuple[int, int] | None = None
        self.paths: tuple[Path, Path] | None = None

    def open(self) -> tuple[Path, Path]:
        """Create both pairs and start relaying; returns (controller end, driver end)."""
        loop = asyncio.get_running_loop()
        ends: list[tuple[int, Path]] = []
        for _ in range(2):
            master, slave = os.openpty()
            tty.setraw(slave)
            os.set_blocking(master, False)
            self._fds += [master, slave]
            ends.append((master, Path(os.ttyname(slave))))
        (master_a, path_a), (master_b, path_b) = ends
        self._masters = (master_a, master_b)
        loop.add_reader(master_a, self._relay, master_a, master_b)
        loop.add_reader(master_b, self._relay, master_b, master_a)
        self.paths = (path_a, path_b)
        return self.paths

    def close(self) -> None:
        """Stop relaying and remove both pairs. Idempotent."""
        if self._masters is not None:
            loop = asyncio.get_running_loop()
            for master in self._masters:
                loop.remove_reader(master)
            self._masters = None
        for fd in self._fds:
            os.close(fd)
        self._fds = []
        self.paths = None

    @staticmethod
    def _relay(source: int, sink: int) -> None:
        try:
            data = os.read(source, READ_CHUNK)
        except (BlockingIOError, OSError):
            return
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(sink, view) :]
            except BlockingIOError:
                return
