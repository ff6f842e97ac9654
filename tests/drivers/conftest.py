"""Real pseudo-terminals for driver tests: the test plays the device on the master side."""

from __future__ import annotations

import os
import select
import time
import tty
from collections.abc import Iterator

import pytest

from drivers.hl7.mllp import MllpDecoder, MllpFrame


class PtyPair:
    """A pty whose slave path a driver opens like a USB serial adapter."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._decoder = MllpDecoder()
        self._frames: list[bytes] = []
        self._open = True

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def receive(self, size: int, timeout: float = 5.0) -> bytes:
        """Exactly ``size`` bytes the driver wrote, or ``TimeoutError``."""
        received = b""
        deadline = time.monotonic() + timeout
        while len(received) < size:
            received += self._read_some(deadline, f"{size} bytes (got {received!r})")
        return received

    def receive_frames(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """The next ``count`` MLLP frame payloads the driver wrote, or ``TimeoutError``."""
        deadline = time.monotonic() + timeout
        while len(self._frames) < count:
            data = self._read_some(deadline, f"{count} MLLP frames")
            self._frames.extend(e.payload for e in self._decoder.feed(data) if isinstance(e, MllpFrame))
        taken, self._frames = self._frames[:count], self._frames[count:]
        return taken

    def hang_up(self) -> None:
        """Close the master: the device is unplugged."""
        if self._open:
            os.close(self.master)
            self._open = False

    def close(self) -> None:
        self.hang_up()
        os.close(self._slave)

    def _read_some(self, deadline: float, what: str) -> bytes:
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([self.master], [], [], max(remaining, 0))
        if not ready:
            raise TimeoutError(f"timed out waiting for {what}")
        return os.read(self.master, 4096)


@pytest.fixture
def pty_pair() -> Iterator[PtyPair]:
    pair = PtyPair()
    yield pair
    pair.close()
