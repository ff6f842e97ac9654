"""The fault schedule: reproducible from its seed, complete, and never hitting a part that is down."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from careedge_testkit.chaos.schedule import FULL, KILLS, SHORT, ChaosProfile, FaultKind, plan

BRIDGES = ("bridge-a", "bridge-b")


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    assert plan(7, SHORT, BRIDGES) == plan(7, SHORT, BRIDGES)
    assert plan(7, SHORT, BRIDGES) != plan(8, SHORT, BRIDGES)


@pytest.mark.parametrize("profile", [SHORT, FULL], ids=["short", "full"])
def test_every_planned_fault_is_scheduled_once(profile: ChaosProfile) -> None:
    faults = plan(3, profile, BRIDGES)
    assert Counter(fault.kind for fault in faults) == Counter(
        {kind: count for kind, count in profile.counts.items() if count}
    )


def test_the_full_run_kills_at_least_a_hundred_times_and_the_short_one_a_few_of_each() -> None:
    assert FULL.kills >= 100
    assert all(SHORT.counts[kind] >= 3 for kind in KILLS)
    assert all(SHORT.counts[kind] >= 2 for kind in (FaultKind.TSDB_PAUSE, FaultKind.LINK_CUT))


def test_faults_start_in_order_within_their_gaps_and_down_times() -> None:
    faults = plan(11, FULL, BRIDGES)
    starts = [fault.at_s for fault in faults]
    assert starts == sorted(starts)
    assert all(FULL.gap_s[0] <= later - earlier for earlier, later in itertools.pairwise(starts))
    for fault in faults:
        low, high = FULL.down_s[fault.kind]
        assert low <= fault.down_s <= high


def test_a_part_is_never_hit_again_while_it_is_down_but_different_parts_overlap() -> None:
    faults = plan(5, FULL, BRIDGES)
    by_target: dict[str, list[tuple[float, float]]] = {}
    for fault in faults:
        by_target.setdefault(fault.target, []).append((fault.at_s, fault.ends_s))
    for windows in by_target.values():
        assert all(end < next_start for (_, end), (next_start, _) in itertools.pairwise(windows))
    overlapping = [
        (one, other)
        for one, other in itertools.pairwise(faults)
        if other.at_s < one.ends_s and other.target != one.target
    ]
    assert overlapping


def test_bridge_kills_are_shared_evenly_between_the_bridges() -> None:
    for profile in (SHORT, FULL):
        targets = Counter(f.target for f in plan(2, profile, BRIDGES) if f.kind is FaultKind.BRIDGE_KILL)
        assert sorted(targets) == sorted(BRIDGES)
        assert max(targets.values()) - min(targets.values()) <= 1


def test_parts_other_than_bridges_are_fixed_targets() -> None:
    fixed = {
        fault.kind: fault.target
        for fault in plan(2, FULL, BRIDGES)
        if fault.kind is not FaultKind.BRIDGE_KILL
    }
    assert fixed == {
        FaultKind.EDGE_KILL: "edge",
        FaultKind.BROKER_KILL: "broker",
        FaultKind.TSDB_PAUSE: "tsdb",
        FaultKind.LINK_CUT: "link",
    }


def test_a_profile_with_impossible_spans_or_counts_is_refused() -> None:
    with pytest.raises(ValueError, match="spans"):
        ChaosProfile(counts={}, gap_s=(2.0, 1.0), down_s={}, settle_s=1)
    with pytest.raises(ValueError, match="negative"):
        ChaosProfile(counts={FaultKind.EDGE_KILL: -1}, gap_s=(1, 2), down_s={}, settle_s=1)
    with pytest.raises(ValueError, match="edge kill"):
        ChaosProfile(counts={FaultKind.EDGE_KILL: 1}, gap_s=(1, 2), down_s={}, settle_s=1)
    with pytest.raises(ValueError, match="bridge"):
        plan(1, SHORT, ())
