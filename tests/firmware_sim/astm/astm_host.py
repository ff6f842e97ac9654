"""A scriptable receiving computer on the analyzer simulator's pty, standing in for the gateway.

It opens the device path with ``os.open`` from its own thread (waiting for it to appear, reopening
after an unplug), splits what the analyzer sends into ENQ, frames (decoded with the product's
``decode_frame``; a frame it refuses is kept as ``bad_frame`` with the reason) and EOT, stamps each
with ``time.monotonic()``, and writes whatever the test's ``respond`` returns for it.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from drivers.astm.frames import ACK, CR, ENQ, EOT, ETB, ETX, LF, STX, Frame, FrameError, decode_frame

POLL_S = 0.02
TRAILER_BYTES = 3

Kind = Literal["enq", "frame", "bad_frame", "eot"]


@dataclass(frozen=True)
class HostEvent:
    kind: Kind
    at: float
    """``time.monotonic()`` when it arrived."""
    frame: Frame | None = None
    raw: bytes = b""
    reason: str = ""
    """Why a ``bad_frame`` was refused."""


def acknowledge_all(event: HostEvent) -> bytes | None:
    return None if event.kind == "eot" else bytes([ACK])


class AstmHost:
    def __init__(self, path: Path, respond: Callable[[HostEvent], bytes | None] = acknowledge_all) -> None:
        self.path = path
        self._respond = respond
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._events: list[HostEvent] = []
        self._noise = 0
        self._hangups = 0
        self._frame = bytearray()
        self._trailer = 0
        self._fd = -1
        self._thread = threading.Thread(target=self._run, name="astm-host", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(5)
        if self._fd >= 0:
            os.close(self._fd)

    @property
    def events(self) -> list[HostEvent]:
        with self._lock:
            return list(self._events)

    @property
    def noise(self) -> int:
        """Bytes outside ENQ, frames and EOT."""
        with self._lock:
            return self._noise

    @property
    def hangups(self) -> int:
        with self._lock:
            return self._hangups

    def frames(self) -> list[Frame]:
        return [event.frame for event in self.events if event.frame is not None]

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._fd < 0:
                self._reopen()
                continue
            ready, _, _ = select.select([self._fd], [], [], POLL_S)
            if not ready:
                continue
            try:
                chunk = os.read(self._fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                self._hang_up()
                continue
            for byte in chunk:
                self._byte(byte)

    def _byte(self, byte: int) -> None:
        if self._frame:
            self._frame.append(byte)
            if self._trailer:
                self._trailer -= 1
                if not self._trailer:
                    self._frame_complete()
            elif byte in (ETX, ETB):
                self._trailer = TRAILER_BYTES
        elif byte == STX:
            self._frame.append(byte)
        elif byte == ENQ:
            self._handle(HostEvent("enq", time.monotonic()))
        elif byte == EOT:
            self._handle(HostEvent("eot", time.monotonic()))
        elif byte != LF:
            with self._lock:
                self._noise += 1

    def _frame_complete(self) -> None:
        raw = bytes(self._frame)
        self._frame.clear()
        if raw[-1] != CR:
            self._handle(HostEvent("bad_frame", time.monotonic(), raw=raw, reason="bad_frame"))
            return
        try:
            self._handle(HostEvent("frame", time.monotonic(), frame=decode_frame(raw), raw=raw))
        except FrameError as exc:
            self._handle(HostEvent("bad_frame", time.monotonic(), raw=raw, reason=str(exc.reason)))

    def _handle(self, event: HostEvent) -> None:
        with self._lock:
            self._events.append(event)
        reply = self._respond(event)
        if reply:
            os.write(self._fd, reply)

    def _hang_up(self) -> None:
        os.close(self._fd)
        self._fd = -1
        self._frame.clear()
        self._trailer = 0
        with self._lock:
            self._hangups += 1

    def _reopen(self) -> None:
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY)
        except OSError:
            self._stop.wait(POLL_S)
