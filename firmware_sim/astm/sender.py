"""The sender side of ASTM E1381 (CLSI LIS01-A2), as analyzer firmware runs it, over a pseudo-terminal.

One ``transmit`` is one establishment, transfer and termination:
- establishment: ENQ, then wait for the reply. ACK: go on. NAK (receiver busy): wait at least 10 s
  and ask again. ENQ (contention: the receiver wants to send too): the instrument has priority,
  waits at least 1 s and sends ENQ again. No reply within 15 s: EOT, give up for now. After six
  ENQs without ACK the attempt is given up too;
- transfer: each frame waits up to 15 s for its reply. ACK goes on; EOT (a receiver interrupt) is
  taken as ACK; NAK or any other byte makes the analyzer retransmit the same frame, and a frame
  refused six times ends the attempt with EOT. No reply within 15 s: EOT, give up;
- termination: EOT.
A message given up is sent again later by the simulator (analyzers keep unsent results).

The timers are the standard's multiplied by one scale factor, so tests run the same logic fast.
Every wait watches the stop event.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from drivers.astm.frames import ACK, ENQ, EOT, FRAME_NUMBERS, NAK, Frame, encode_frame
from firmware_sim.astm.faults import FaultPlan, line_noise
from firmware_sim.kiosk.pty_port import PtyPort

REPLY_TIMEOUT_S = 15.0
"""E1381 time-outs: the sender's wait for the reply to ENQ or to a frame."""
BUSY_RETRY_S = 10.0
"""E1381 establishment: after NAK to ENQ, the sender waits at least 10 s before the next ENQ."""
CONTENTION_RETRY_S = 1.0
"""E1381 contention: after contention the instrument waits at least 1 s before its next ENQ."""
MAX_FRAME_ATTEMPTS = 6
"""E1381 transfer phase: a frame refused six times ends the transmission."""
MAX_ENQ_ATTEMPTS = 6
POLL_S = 0.05
"""Longest a port read or write blocks before the stop event is looked at again."""

SenderCounter = Literal[
    "enqs", "busy", "contentions", "frames", "retransmits", "naks", "timeouts", "aborts", "interrupts",
    "bad_checksums", "bad_frame_numbers", "garbled_acks", "lost_acks", "noise_bursts", "stalls", "unplugs",
]  # fmt: skip


class Attempt(StrEnum):
    DELIVERED = "delivered"
    ABORTED = "aborted"
    """A frame was refused six times."""
    TIMED_OUT = "timed_out"
    """No reply within the reply timeout."""
    REFUSED = "refused"
    """Six ENQs without ACK (busy or contention)."""
    UNPLUGGED = "unplugged"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class SenderTimers:
    reply_s: float = REPLY_TIMEOUT_S
    busy_retry_s: float = BUSY_RETRY_S
    contention_retry_s: float = CONTENTION_RETRY_S

    @classmethod
    def scaled(cls, factor: float) -> SenderTimers:
        """The standard's timers times ``factor`` (0.01 makes 15 s into 0.15 s)."""
        if factor <= 0:
            raise ValueError("the time scale must be positive")
        return cls(REPLY_TIMEOUT_S * factor, BUSY_RETRY_S * factor, CONTENTION_RETRY_S * factor)


class _Stopped(Exception):
    pass


class E1381Sender:
    """Sends transmissions on ``port``; not thread-safe (the simulator thread owns it)."""

    def __init__(
        self,
        port: PtyPort,
        timers: SenderTimers,
        stop: threading.Event,
        count: Callable[[SenderCounter], None],
        rng: random.Random,
        unplug_s: float,
        stall_s: float,
    ) -> None:
        self._port = port
        self._timers = timers
        self._stop = stop
        self._count = count
        self._rng = rng
        self._unplug_s = unplug_s
        self._stall_s = stall_s
        self._pending = bytearray()

    def transmit(self, frames: Sequence[Frame], plan: FaultPlan) -> Attempt:
        """One attempt to deliver ``frames`` (numbered from 1), with the faults of ``plan``."""
        try:
            established = self._establish(plan)
            if established is not Attempt.DELIVERED:
                return established
            for index, frame in enumerate(frames):
                if plan.unplug == index:
                    self._unplug()
                    return Attempt.UNPLUGGED
                if plan.stall == index:
                    self._count("stalls")
                    self._wait(self._stall_s)
                outcome = self._transfer(frame, index, plan)
                if outcome is not None:
                    return outcome
            self._write(bytes([EOT]))
            return Attempt.DELIVERED
        except _Stopped:
            return Attempt.STOPPED

    def _establish(self, plan: FaultPlan) -> Attempt:
        self._pending.clear()
        self._port.read(0)
        for _ in range(MAX_ENQ_ATTEMPTS):
            if plan.line_noise:
                self._noise()
            self._count("enqs")
            self._write(bytes([ENQ]))
            reply = self._reply({ACK, NAK, ENQ})
            if reply == ACK:
                return Attempt.DELIVERED
            if reply is None:
                self._count("timeouts")
                self._write(bytes([EOT]))
                return Attempt.TIMED_OUT
            if reply == NAK:
                self._count("busy")
                self._wait(self._timers.busy_retry_s)
            else:
                self._count("contentions")
                self._wait(self._timers.contention_retry_s)
        return Attempt.REFUSED

    def _transfer(self, frame: Frame, index: int, plan: FaultPlan) -> Attempt | None:
        """Send one frame until acknowledged; the attempt's outcome when it ends here, else None."""
        for attempt in range(1, MAX_FRAME_ATTEMPTS + 1):
            self._count("frames" if attempt == 1 else "retransmits")
            if attempt > 1 and plan.line_noise:
                self._noise()
            self._write(self._wire(frame, index, plan, first=attempt == 1))
            reply = self._reply(None)
            if reply == ACK and plan.lost_ack == index and attempt == 1:
                self._count("lost_acks")
                self._wait(self._timers.reply_s)
                reply = None
            if reply is None:
                self._count("timeouts")
                self._write(bytes([EOT]))
                return Attempt.TIMED_OUT
            if reply == ACK and plan.garbled_ack == index and attempt == 1:
                self._count("garbled_acks")
                continue
            if reply in (ACK, EOT):
                if reply == EOT:
                    self._count("interrupts")
                if plan.line_noise:
                    self._noise()
                return None
            self._count("naks")
        self._count("aborts")
        self._write(bytes([EOT]))
        return Attempt.ABORTED

    def _wire(self, frame: Frame, index: int, plan: FaultPlan, first: bool) -> bytes:
        if first and plan.bad_frame_number == index:
            self._count("bad_frame_numbers")
            return encode_frame(Frame((frame.number + 1) % FRAME_NUMBERS, frame.text, frame.final))
        data = encode_frame(frame)
        if first and plan.bad_checksum == index:
            self._count("bad_checksums")
            wrong = (int(data[-4:-2], 16) + 1) % 256
            return data[:-4] + f"{wrong:02X}".encode() + data[-2:]
        return data

    def _reply(self, wanted: set[int] | None) -> int | None:
        """The first reply byte within the reply timeout, skipping bytes not in ``wanted`` (when
        given); None on timeout."""
        deadline = time.monotonic() + self._timers.reply_s
        while True:
            while self._pending:
                byte = self._pending.pop(0)
                if wanted is None or byte in wanted:
                    return byte
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if self._stop.is_set():
                raise _Stopped
            self._pending += self._port.read(min(remaining, POLL_S))

    def _noise(self) -> None:
        self._count("noise_bursts")
        self._write(line_noise(self._rng))

    def _unplug(self) -> None:
        self._count("unplugs")
        self._port.unplug()
        self._wait(self._unplug_s)
        self._port.open()

    def _write(self, data: bytes) -> None:
        """Write all of ``data`` unless stopped; a reader that takes nothing for the reply timeout
        loses the rest, as on a real line."""
        deadline = time.monotonic() + self._timers.reply_s
        written = 0
        while written < len(data) and time.monotonic() < deadline:
            if self._stop.is_set():
                raise _Stopped
            written += self._port.write(data[written:], POLL_S)

    def _wait(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise _Stopped
