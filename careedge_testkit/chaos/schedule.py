"""Which fault strikes which part when, drawn from a seed, so a failing run can be replayed exactly.

A profile says how many faults of each kind a run gets, how far apart they start and how long each
part stays down. The faults are shuffled into one sequence; each starts a random gap after the one
before, or later if its part is still down from an earlier fault, so faults on different parts
overlap (a bridge dead while the broker restarts) but one part is never hit twice at once.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class FaultKind(StrEnum):
    EDGE_KILL = "edge kill"
    """SIGKILL the gateway daemon, start it again after the down time."""
    BRIDGE_KILL = "bridge kill"
    """SIGKILL one bridge, start it again under the same client ID after the down time."""
    BROKER_KILL = "broker kill"
    """SIGKILL Mosquitto, start it again on the same port and persistence file."""
    TSDB_PAUSE = "tsdb pause"
    """SIGSTOP the time-series server, SIGCONT after the down time."""
    LINK_CUT = "link cut"
    """Drop the gateway's connections to the broker and refuse new ones for the down time."""


KILLS = (FaultKind.EDGE_KILL, FaultKind.BRIDGE_KILL, FaultKind.BROKER_KILL)
EDGE, BROKER, TSDB, LINK = "edge", "broker", "tsdb", "link"
FIXED_TARGETS = {
    FaultKind.EDGE_KILL: EDGE,
    FaultKind.BROKER_KILL: BROKER,
    FaultKind.TSDB_PAUSE: TSDB,
    FaultKind.LINK_CUT: LINK,
}

Span = tuple[float, float]
"""(shortest, longest) in seconds, drawn uniformly."""


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    target: str
    """``edge``, ``broker``, ``tsdb``, ``link`` or a bridge's client ID."""
    at_s: float
    """Seconds after the run started."""
    down_s: float

    @property
    def ends_s(self) -> float:
        return self.at_s + self.down_s


@dataclass(frozen=True, slots=True)
class ChaosProfile:
    counts: Mapping[FaultKind, int]
    gap_s: Span
    """Between the starts of consecutive faults."""
    down_s: Mapping[FaultKind, Span]
    """How long the part stays killed, paused or cut, per kind."""
    settle_s: float
    """After the last fault: how long delivery may take before what is missing counts as lost."""

    def __post_init__(self) -> None:
        spans = [self.gap_s, *self.down_s.values()]
        if any(low < 0 or high < low for low, high in spans):
            raise ValueError("spans are (low, high) with 0 <= low <= high")
        if any(count < 0 for count in self.counts.values()):
            raise ValueError("fault counts must not be negative")
        missing = sorted(kind for kind, count in self.counts.items() if count and kind not in self.down_s)
        if missing:
            raise ValueError(f"no down time given for {', '.join(missing)}")

    @property
    def kills(self) -> int:
        return sum(self.counts.get(kind, 0) for kind in KILLS)


SHORT = ChaosProfile(
    counts={
        FaultKind.EDGE_KILL: 3,
        FaultKind.BRIDGE_KILL: 4,
        FaultKind.BROKER_KILL: 3,
        FaultKind.TSDB_PAUSE: 2,
        FaultKind.LINK_CUT: 2,
    },
    gap_s=(0.8, 2.0),
    down_s={
        FaultKind.EDGE_KILL: (0.2, 1.5),
        FaultKind.BRIDGE_KILL: (0.2, 2.0),
        FaultKind.BROKER_KILL: (0.2, 1.5),
        FaultKind.TSDB_PAUSE: (1.0, 3.0),
        FaultKind.LINK_CUT: (1.0, 3.0),
    },
    settle_s=30.0,
)
"""A run for the test suite: a few of each fault in about half a minute."""

FULL = ChaosProfile(
    counts={
        FaultKind.EDGE_KILL: 35,
        FaultKind.BRIDGE_KILL: 40,
        FaultKind.BROKER_KILL: 30,
        FaultKind.TSDB_PAUSE: 15,
        FaultKind.LINK_CUT: 15,
    },
    gap_s=(1.0, 6.0),
    down_s={
        FaultKind.EDGE_KILL: (0.1, 5.0),
        FaultKind.BRIDGE_KILL: (0.1, 10.0),
        FaultKind.BROKER_KILL: (0.1, 5.0),
        FaultKind.TSDB_PAUSE: (1.0, 30.0),
        FaultKind.LINK_CUT: (1.0, 120.0),
    },
    settle_s=120.0,
)
"""``make chaos``: over a hundred kills, link cuts of up to two minutes."""

PROFILES = {"short": SHORT, "full": FULL}


def plan(seed: int, profile: ChaosProfile, bridges: Sequence[str]) -> list[Fault]:
    """The faults of one run in start order; the same seed, profile and bridges give the same list.

    Bridge kills take the bridges in turn before shuffling, so each bridge gets its share."""
    if not bridges and profile.counts.get(FaultKind.BRIDGE_KILL, 0):
        raise ValueError("bridge kills need at least one bridge")
    rng = random.Random(seed)
    bag = [
        (kind, bridges[index % len(bridges)] if kind is FaultKind.BRIDGE_KILL else FIXED_TARGETS[kind])
        for kind in FaultKind
        for index in range(profile.counts.get(kind, 0))
    ]
    rng.shuffle(bag)
    free_at: dict[str, float] = {}
    clock = 0.0
    faults: list[Fault] = []
    for kind, target in bag:
        clock = max(clock + rng.uniform(*profile.gap_s), free_at.get(target, 0.0) + profile.gap_s[0])
        fault = Fault(kind, target, round(clock, 3), round(rng.uniform(*profile.down_s[kind]), 3))
        free_at[target] = fault.ends_s
        faults.append(fault)
    return faults
