"""The receiving end of sd_notify, as systemd binds it: a Unix datagram socket at ``$NOTIFY_SOCKET``.

A test binds one, starts a daemon with ``environment()`` and reads what the daemon says
(``READY=1``, ``WATCHDOG=1``, ``STOPPING=1``) in the order it said it.
"""

from __future__ import annotations

import socket
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

DATAGRAM_MAX = 4096


class NotifySocket:
    def __init__(self) -> None:
        # A short path of its own: AF_UNIX paths are limited to 107 bytes, pytest's tmp_path is long.
        self._dir = tempfile.TemporaryDirectory(prefix="careedge-notify-")
        self.path = Path(self._dir.name) / "notify"
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(self.path))

    def environment(self, watchdog_s: float | None = None) -> dict[str, str]:
        """Variables systemd would set for a ``Type=notify`` unit (with ``WatchdogSec=watchdog_s``)."""
        env = {"NOTIFY_SOCKET": str(self.path)}
        if watchdog_s is not None:
            env["WATCHDOG_USEC"] = str(int(watchdog_s * 1_000_000))
        return env

    def receive(self, timeout: float) -> str | None:
        """The next notification, or None when none arrives within ``timeout`` seconds."""
        self._socket.settimeout(timeout)
        try:
            return self._socket.recv(DATAGRAM_MAX).decode()
        except TimeoutError:
            return None

    def drain(self) -> list[str]:
        """Every notification already waiting, without waiting for more."""
        received: list[str] = []
        self._socket.setblocking(False)
        try:
            while True:
                received.append(self._socket.recv(DATAGRAM_MAX).decode())
        except BlockingIOError:
            return received

    def collect(self, seconds: float) -> list[str]:
        """Everything that arrives during the next ``seconds`` (for asserting what must not come)."""
        deadline = time.monotonic() + seconds
        seen: list[str] = []
        while (remaining := deadline - time.monotonic()) > 0:
            received = self.receive(remaining)
            if received is not None:
                seen.append(received)
        return seen

    def wait_for(self, message: str, timeout: float) -> list[str]:
        """Read until ``message`` arrives; returns everything read, ending with it."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while True:
            remaining = deadline - time.monotonic()
            received = self.receive(remaining) if remaining > 0 else None
            if received is None:
                raise TimeoutError(f"no {message!r} within {timeout}s; received {seen[-10:]}")
            seen.append(received)
            if received == message:
                return seen

    def close(self) -> None:
        self._socket.close()
        self._dir.cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()
