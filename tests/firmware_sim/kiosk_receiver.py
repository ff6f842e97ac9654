"""A minimal MLLP receiver on the kiosk's pty slave, standing in for the edge in these tests.

It opens the device path with ``os.open`` (no input flush, unlike pyserial), decodes with the
project's MllpDecoder, parses with ``hl7`` and answers what the test's ``respond`` callable says.
It opens the path from its own thread, waiting for it to appear, and on end of file (the kiosk
unplugged) waits for the path to come back and reopens it.
"""

from __future__ import annotations

import os
import select
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import hl7

from drivers.hl7.mllp import MllpDecoder, MllpFrame, MllpFramingError, frame

POLL_S = 0.02


@dataclass(frozen=True)
class Received:
    payload: bytes
    message: Any | None
    """The parsed ``hl7.Message``; None when the payload is not valid UTF-8 HL7 starting with MSH."""
    control_id: str | None
    copy: int
    """How many earlier frames carried the same control ID (0 for the first)."""


def ack(received: Received, code: str = "AA", control_id: str | None = None) -> bytes:
    """A framed original-mode ACK for ``received``; ``control_id`` overrides MSA-2."""
    assert received.message is not None
    reply = received.message.create_ack(code)
    if control_id is not None:
        reply.segment("MSA")[2] = control_id
    return frame(str(reply).encode("utf-8"))


def accept_all(received: Received) -> bytes | None:
    return ack(received) if received.message is not None else None


class MllpReceiver:
    def __init__(self, path: Path, respond: Callable[[Received], bytes | None] = accept_all) -> None:
        self.path = path
        self._respond = respond
        self._decoder = MllpDecoder()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._seen: Counter[str] = Counter()
        self._received: list[Received] = []
        self._errors: list[MllpFramingError] = []
        self._raw = bytearray()
        self._hangups = 0
        self._fd = -1
        self._thread = threading.Thread(target=self._run, name="mllp-receiver", daemon=True)

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
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    @property
    def errors(self) -> list[MllpFramingError]:
        with self._lock:
            return list(self._errors)

    @property
    def raw(self) -> bytes:
        with self._lock:
            return bytes(self._raw)

    @property
    def hangups(self) -> int:
        with self._lock:
            return self._hangups

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
            with self._lock:
                self._raw.extend(chunk)
            for event in self._decoder.feed(chunk):
                if isinstance(event, MllpFrame):
                    self._handle(event.payload)
                else:
                    with self._lock:
                        self._errors.append(event)

    def _handle(self, payload: bytes) -> None:
        message: Any | None
        try:
            text = payload.decode("utf-8")
            message = hl7.parse(text) if text.startswith("MSH|") else None
        except (UnicodeDecodeError, hl7.HL7Exception, ValueError):
            message = None
        control_id = str(message.segment("MSH")(10)) if message is not None else None
        with self._lock:
            copy = self._seen[control_id] if control_id is not None else 0
            if control_id is not None:
                self._seen[control_id] += 1
            received = Received(payload, message, control_id, copy)
            self._received.append(received)
        reply = self._respond(received)
        if reply is not None:
            try:
                os.write(self._fd, reply)
            except OSError:
                self._hang_up()  # the kiosk closed its end while we answered, as a real line can

    def _hang_up(self) -> None:
        if self._fd < 0:
            return
        os.close(self._fd)
        self._fd = -1
        self._decoder.reset()
        with self._lock:
            self._hangups += 1

    def _reopen(self) -> None:
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY)
        except OSError:
            self._stop.wait(POLL_S)
