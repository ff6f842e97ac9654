"""The report names the seed, the faults by kind and the counts, and lists readings that failed."""

from __future__ import annotations

from careedge_testkit.chaos.reconcile import ReadingKey, Reconciliation
from careedge_testkit.chaos.report import render
from careedge_testkit.chaos.runner import BrokerKillLosses, ChaosResult, FaultRecord
from careedge_testkit.chaos.schedule import Fault, FaultKind

LOST = ReadingKey("kiosk-1", "s-0123", "8480-6", 1_796_281_200_001)


def _result(lost: tuple[ReadingKey, ...]) -> ChaosResult:
    faults = [
        Fault(FaultKind.EDGE_KILL, "edge", 1.0, 0.5),
        Fault(FaultKind.BROKER_KILL, "broker", 2.0, 0.5),
        Fault(FaultKind.BROKER_KILL, "broker", 4.0, 0.5),
        Fault(FaultKind.LINK_CUT, "link", 4.5, 9.0),
    ]
    return ChaosResult(
        seed=42,
        profile="short",
        replay=True,
        faults=tuple(FaultRecord(fault, 0.0, 1.0) for fault in faults),
        messages_sent=10,
        transmissions=12,
        reconciliation=Reconciliation(
            acknowledged=25,
            lost=lost,
            not_in_outbox=0,
            not_processed=len(lost),
            not_in_tsdb=len(lost),
            duplicated=(),
            duplicate_rows=0,
            altered=(),
            stored_unacknowledged=1,
            unexplained=0,
        ),
        broker_kill_losses=BrokerKillLosses(len(lost), 0.8),
        tallies={"careedge_edge_replayed_total": 7},
        unplanned_exits={},
        settled=not lost,
        duration_s=30.0,
    )


def test_a_clean_run_reports_seed_faults_and_zero_counts() -> None:
    text = render(_result(()), "make chaos")
    assert "Produced by `make chaos`" in text
    assert "| 42 | short | on | 3 | 1 | 0 | 2 | 0 | 1 |" in text
    assert "| 10 | 25 | 0 | 0 | 0 |" in text
    assert "| envelopes the edge published again (asked, or above the watermark) | 7 |" in text
    assert "| 4 | 4.5 | link cut | link | 9.0 |" in text
    assert "failed a check" not in text


def test_failed_readings_are_listed_with_their_key() -> None:
    text = render(_result((LOST,)), "make chaos")
    assert "| 10 | 25 | 1 | 0 | 0 |" in text
    assert "| lost: acknowledged by the broker before a broker kill (at most 0.8 s before) | 1 |" in text
    assert "| lost | kiosk-1 | s-0123 | 8480-6 | 2026-12-03T07:00:00.001+00:00 |" in text
