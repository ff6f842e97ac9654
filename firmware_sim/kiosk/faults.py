"""Faults a real kiosk cable and firmware produce, injected with a seeded, reproducible plan.

- ``garbled``: the first transmission of a message is corrupted so that any receiver can tell
  (bytes that are never valid UTF-8, or a broken MSH header); the kiosk then waits for the ACK as
  usual and resends the good message after AE/AR or the ACK timeout.
- ``truncated``: the first transmission stops part-way, with no end block (a glitch on the line);
  the kiosk never hears an ACK and resends after the timeout.
- ``silence``: the kiosk says nothing for ``silence_s`` before its next message.
- ``unplug``: the cable is pulled (the pseudo-terminal closes) for ``unplug_s``, then plugged back.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from drivers.hl7.mllp import START_BLOCK, frame

ASCII_LIMIT = 0x80
"""Setting the top bit of an ASCII byte yields a byte that cannot stand alone in UTF-8."""
MAX_FLIPPED_BYTES = 3
MSH_PREFIX_LENGTH = 4
"""``MSH|``: without it the message no longer starts with a header a parser recognises."""
TRUNCATE_MIN_SHARE = 0.25
TRUNCATE_MAX_SHARE = 0.75


class Fault(StrEnum):
    GARBLED = "garbled"
    TRUNCATED = "truncated"
    SILENCE = "silence"
    UNPLUG = "unplug"


@dataclass(frozen=True, slots=True)
class FaultRates:
    """Probability of each fault per message, and how long silences and unplugs last (seconds)."""

    garbled: float = 0.0
    truncated: float = 0.0
    silence: float = 0.0
    unplug: float = 0.0
    silence_s: float = 5.0
    unplug_s: float = 2.0

    def __post_init__(self) -> None:
        for fault in Fault:
            if not 0.0 <= getattr(self, fault.value) <= 1.0:
                raise ValueError(f"fault rate {fault.value} must be between 0 and 1")
        if self.silence_s < 0 or self.unplug_s < 0:
            raise ValueError("fault durations must not be negative")


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Faults for one message; at most one of garbled/truncated corrupts its first transmission."""

    corruption: Fault | None = None
    silence: bool = False
    unplug: bool = False


def parse_fault_rates(specs: Sequence[str], silence_s: float, unplug_s: float) -> FaultRates:
    """``["garbled=0.1", "unplug=0.02"]`` to ``FaultRates``; raises ``ValueError`` naming the bad spec."""
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
    return FaultRates(**rates, silence_s=silence_s, unplug_s=unplug_s)


def plan_faults(rates: FaultRates, rng: random.Random) -> FaultPlan:
    """Draws the same count of numbers whatever the rates, so a seed replays the same plan."""
    garbled, truncated, silence, unplug = (rng.random() for _ in range(4))
    corruption: Fault | None = None
    if garbled < rates.garbled:
        corruption = Fault.GARBLED
    elif truncated < rates.truncated:
        corruption = Fault.TRUNCATED
    return FaultPlan(corruption=corruption, silence=silence < rates.silence, unplug=unplug < rates.unplug)


def corrupted_transmission(fault: Fault, payload: bytes, rng: random.Random) -> bytes:
    """The bytes a faulty first transmission of ``payload`` puts on the wire."""
    if fault is Fault.GARBLED:
        return garbled_frame(payload, rng)
    if fault is Fault.TRUNCATED:
        return truncated_frame(payload, rng)
    raise ValueError(f"{fault.value} does not corrupt a transmission")


def garbled_frame(payload: bytes, rng: random.Random) -> bytes:
    """A well-framed copy whose content no receiver can accept.

    Either the ``MSH|`` prefix is lost, or one to three ASCII bytes, never adjacent, get their top
    bit set: a lone byte of 0x80 or more between ASCII (or before a UTF-8 lead byte) is invalid
    UTF-8 wherever it lands, and never a framing byte.
    """
    if rng.random() < 0.5:
        return frame(payload[MSH_PREFIX_LENGTH:])
    wanted = rng.randint(1, MAX_FLIPPED_BYTES)
    corrupted = bytearray(payload)
    candidates = [index for index, byte in enumerate(payload) if byte < ASCII_LIMIT]
    flipped: list[int] = []
    for index in rng.sample(candidates, len(candidates)):
        if all(abs(index - other) > 1 for other in flipped):
            flipped.append(index)
            corrupted[index] |= ASCII_LIMIT
        if len(flipped) == wanted:
            break
    return frame(bytes(corrupted))


def truncated_frame(payload: bytes, rng: random.Random) -> bytes:
    """A start block and the first quarter to three quarters of the message, no end block."""
    cut = rng.randint(int(len(payload) * TRUNCATE_MIN_SHARE), int(len(payload) * TRUNCATE_MAX_SHARE))
    return bytes([START_BLOCK]) + payload[:cut]
