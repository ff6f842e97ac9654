"""Faults of an analyzer's serial line, drawn per transmission from a seed and applied to its first
attempt only (so a transmission with a fault is still delivered on a later attempt).

- ``bad_checksum``: one frame goes out with a wrong checksum; the receiver answers NAK and the
  analyzer retransmits it;
- ``bad_frame_number``: one frame goes out numbered one too far; NAK, retransmission;
- ``garbled_ack``: the receiver's ACK of one frame arrives garbled, which the analyzer takes as
  NAK: it retransmits a frame the receiver already has, under the same number;
- ``lost_ack``: the ACK of one frame never arrives: after its 15 s the analyzer ends the
  transmission (EOT) and sends the whole message again later;
- ``line_noise``: bytes that are no control characters, before ENQ and between frames;
- ``stall``: the analyzer pauses ``stall_s`` before one frame (longer than the receiver's 30 s
  makes the receiver give up the message);
- ``unplug``: the cable is pulled before one frame and plugged back after ``unplug_s``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from drivers.astm.frames import RESTRICTED

NOISE_MIN_BYTES = 1
NOISE_MAX_BYTES = 12


class Fault(StrEnum):
    BAD_CHECKSUM = "bad_checksum"
    BAD_FRAME_NUMBER = "bad_frame_number"
    GARBLED_ACK = "garbled_ack"
    LOST_ACK = "lost_ack"
    LINE_NOISE = "line_noise"
    STALL = "stall"
    UNPLUG = "unplug"


@dataclass(frozen=True, slots=True)
class FaultRates:
    """Probability of each fault per transmission, and how long stalls and unplugs last (seconds)."""

    bad_checksum: float = 0.0
    bad_frame_number: float = 0.0
    garbled_ack: float = 0.0
    lost_ack: float = 0.0
    line_noise: float = 0.0
    stall: float = 0.0
    unplug: float = 0.0
    stall_s: float = 35.0
    unplug_s: float = 2.0

    def __post_init__(self) -> None:
        for fault in Fault:
            if not 0.0 <= getattr(self, fault.value) <= 1.0:
                raise ValueError(f"fault rate {fault.value} must be between 0 and 1")
        if self.stall_s < 0 or self.unplug_s < 0:
            raise ValueError("fault durations must not be negative")


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Which frame (0-based index) each fault hits in the first attempt; None: not this time."""

    bad_checksum: int | None = None
    bad_frame_number: int | None = None
    garbled_ack: int | None = None
    lost_ack: int | None = None
    stall: int | None = None
    unplug: int | None = None
    line_noise: bool = False


NO_FAULTS = FaultPlan()


def parse_fault_rates(specs: Sequence[str], stall_s: float, unplug_s: float) -> FaultRates:
    """``["lost_ack=0.1", "unplug=0.02"]`` to ``FaultRates``; raises ``ValueError`` naming the bad spec."""
    rates: dict[str, float] = {}
    for spec in specs:
        name, separator, value = spec.partition("=")
        if not separator or name.strip() not in Fault.__members__.values():
            known = ", ".join(fault.value for fault in Fault)
            raise ValueError(f"fault {spec!r}: expected NAME=PROBABILITY with NAME one of {known}")
        try:
            rates[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"fault {spec!r}: probability is not a number") from None
    return FaultRates(**rates, stall_s=stall_s, unplug_s=unplug_s)


def plan_faults(rates: FaultRates, rng: random.Random, frames: int) -> FaultPlan:
    """Draws the same count of numbers whatever the rates, so a seed replays the same plan."""
    draws = {fault: (rng.random(), rng.randrange(frames)) for fault in Fault}

    def frame_hit(fault: Fault) -> int | None:
        chance, frame = draws[fault]
        return frame if chance < getattr(rates, fault.value) else None

    return FaultPlan(
        bad_checksum=frame_hit(Fault.BAD_CHECKSUM),
        bad_frame_number=frame_hit(Fault.BAD_FRAME_NUMBER),
        garbled_ack=frame_hit(Fault.GARBLED_ACK),
        lost_ack=frame_hit(Fault.LOST_ACK),
        stall=frame_hit(Fault.STALL),
        unplug=frame_hit(Fault.UNPLUG),
        line_noise=draws[Fault.LINE_NOISE][0] < rates.line_noise,
    )


def line_noise(rng: random.Random) -> bytes:
    """A burst of bytes a receiver must ignore: never a protocol control character."""
    allowed = [byte for byte in range(256) if byte not in RESTRICTED and byte != 0x0D]
    return bytes(rng.choice(allowed) for _ in range(rng.randint(NOISE_MIN_BYTES, NOISE_MAX_BYTES)))
