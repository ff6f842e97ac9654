"""A short chaos run with every part real (see ``careedge_testkit.chaos``): a few SIGKILLs of the
edge, of each bridge and of the broker, time-series server pauses and uplink cuts, for a fixed
seed, and not one acknowledged reading lost, doubled or changed. ``make chaos`` runs the long one."""

from __future__ import annotations

from pathlib import Path

from careedge_testkit.chaos.report import render
from careedge_testkit.chaos.runner import ChaosRunner
from careedge_testkit.chaos.schedule import KILLS, SHORT, FaultKind
from careedge_testkit.chaos.site import ChaosSite

SEED = 20261203


def test_a_short_chaos_run_loses_doubles_and_alters_nothing(tmp_path: Path) -> None:
    with ChaosSite(tmp_path, seed=SEED) as site:
        result = ChaosRunner(site, SEED, "short", SHORT).run()
    print(render(result, "pytest tests/chaos/test_chaos_run.py"))

    kinds = result.by_kind
    assert all(kinds[kind] >= 3 for kind in KILLS), kinds
    assert kinds[FaultKind.TSDB_PAUSE] >= 2
    assert kinds[FaultKind.LINK_CUT] >= 2
    assert all(record.ended is not None for record in result.faults)
    assert result.transmissions > result.messages_sent, "the edge kills must have made kiosks resend"
    outcome = result.reconciliation
    assert outcome.acknowledged >= 300
    assert result.settled
    assert (len(outcome.lost), len(outcome.duplicated), len(outcome.altered)) == (0, 0, 0), outcome
    assert (outcome.duplicate_rows, outcome.unexplained) == (0, 0)
    assert not result.unplanned_exits
