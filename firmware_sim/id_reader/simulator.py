"""An ID-card / barcode reader on a simulated serial cable (the twin of ``drivers/id_reader``).

A real reader in serial mode sends each code it reads as one line, with the prefix and suffix set in
its own configuration, and never waits for an answer. ``scan`` does the same from the caller's
thread; nothing runs in the background. The pty behaves as in ``firmware_sim.kiosk.pty_port``: a
line sent before the edge has opened the port is lost when pyserial flushes its input on open, as
with a real reader, so callers wait until the edge reports the reader up before scanning.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

from firmware_sim.kiosk.pty_port import PtyPort

CRLF = b"\r\n"
WRITE_TIMEOUT_S = 2.0
"""A line is a few dozen bytes; a reader that cannot take them in this time is not reading."""


class IdReaderSimulator:
    """``start`` opens the pty (``device_path`` is valid after it); ``stop`` closes it."""

    def __init__(
        self, *, link: Path | None = None, prefix: str = "", suffix: str = "", line_end: bytes = CRLF
    ) -> None:
        self._port = PtyPort(link)
        self._prefix = prefix
        self._suffix = suffix
        self._line_end = line_end

    def start(self) -> None:
        """Open the pty; raises ``OSError`` if none can be opened."""
        self._port.open()

    def stop(self) -> None:
        """Close the pty and remove its link. Idempotent."""
        self._port.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def device_path(self) -> Path:
        return self._port.device_path

    def scan(self, code: str) -> None:
        """Send ``code`` as the reader would after reading a card or QR code (UTF-8, framed)."""
        self.send_raw(f"{self._prefix}{code}{self._suffix}".encode() + self._line_end)

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are (noise, a damaged line); raises ``TimeoutError`` if not all were taken."""
        written = self._port.write(data, WRITE_TIMEOUT_S)
        if written < len(data):
            raise TimeoutError(f"the reader side took {written} of {len(data)} bytes")

    def unplug(self) -> None:
        """Pull the cable: the path vanishes and an open reader sees end of file."""
        self._port.unplug()

    def replug(self) -> None:
        self._port.replug()
