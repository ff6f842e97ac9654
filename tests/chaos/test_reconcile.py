"""Reconciliation on hand-made evidence: each way of losing, doubling or changing a reading is
counted as such, and nothing that is fine is counted."""

from __future__ import annotations

from dataclasses import replace

from careedge_testkit.chaos.reconcile import Evidence, Measured, ReadingKey, StoredPoint, reconcile

SYS = ReadingKey("kiosk-1", "s-a", "8480-6", 1_000)
DIA = ReadingKey("kiosk-1", "s-a", "8462-4", 1_000)
SPO2 = ReadingKey("kiosk-2", "s-b", "59408-5", 2_000)
VALUES = {SYS: Measured(128.0, "mm[Hg]"), DIA: Measured(82.0, "mm[Hg]"), SPO2: Measured(97.0, "%")}


def _clean() -> Evidence:
    return Evidence(
        acknowledged=dict(VALUES),
        stored=[StoredPoint(key, measured) for key, measured in VALUES.items()],
        ledger={"E1": [SYS, DIA], "E2": [SPO2]},
        processed={"E1", "E2"},
        reading_rows={"alerts": [("E1", "8480-6")], "readings": [("E1", "8480-6"), ("E1", "8462-4")]},
    )


def test_everything_where_it_belongs_is_clean() -> None:
    outcome = reconcile(_clean())
    assert outcome.clean
    assert outcome.acknowledged == 3
    assert (outcome.stored_unacknowledged, outcome.unexplained, outcome.duplicate_rows) == (0, 0, 0)


def test_a_point_missing_from_the_time_series_store_is_lost() -> None:
    evidence = _clean()
    outcome = reconcile(replace(evidence, stored=[p for p in evidence.stored if p.key != SPO2]))
    assert outcome.lost == (SPO2,)
    assert (outcome.not_in_tsdb, outcome.not_processed, outcome.not_in_outbox) == (1, 0, 0)
    assert not outcome.clean


def test_an_envelope_no_bridge_recorded_loses_every_reading_it_carries() -> None:
    outcome = reconcile(replace(_clean(), processed={"E2"}))
    assert set(outcome.lost) == {SYS, DIA}
    assert outcome.not_processed == 2


def test_a_reading_the_outbox_never_took_is_lost_at_the_edge() -> None:
    outcome = reconcile(replace(_clean(), ledger={"E1": [SYS, DIA]}, processed={"E1"}))
    assert outcome.lost == (SPO2,)
    assert (outcome.not_in_outbox, outcome.not_processed) == (1, 1)


def test_a_reading_in_two_envelopes_is_duplicated_even_if_only_one_was_processed_yet() -> None:
    evidence = replace(_clean(), ledger={"E1": [SYS, DIA], "E2": [SPO2], "E3": [SPO2]})
    assert reconcile(evidence).duplicated == (SPO2,)
    assert reconcile(replace(evidence, processed={"E1", "E2", "E3"})).duplicated == (SPO2,)


def test_two_rows_of_one_table_for_one_reading_are_a_duplicate_but_rows_of_two_tables_are_not() -> None:
    evidence = replace(
        _clean(),
        ledger={"E1": [SYS, DIA], "E2": [SPO2], "E9": [SYS]},
        reading_rows={
            "alerts": [("E1", "8480-6"), ("E9", "8480-6"), ("E1", "8462-4")],
            "readings": [("E1", "8480-6"), ("E1", "8462-4"), ("E2", "59408-5")],
        },
    )
    outcome = reconcile(evidence)
    assert outcome.duplicate_rows == 1
    assert not outcome.clean


def test_another_value_or_unit_at_the_key_is_altered_not_lost() -> None:
    evidence = _clean()
    changed = [
        StoredPoint(SYS, Measured(129.0, "mm[Hg]")),
        StoredPoint(DIA, Measured(82.0, "kPa")),
        StoredPoint(SPO2, VALUES[SPO2]),
    ]
    outcome = reconcile(replace(evidence, stored=changed))
    assert outcome.altered == (DIA, SYS)
    assert outcome.lost == ()


def test_a_second_value_beside_the_right_one_is_altered() -> None:
    evidence = _clean()
    stored = [*evidence.stored, StoredPoint(SYS, Measured(130.0, "mm[Hg]"))]
    assert reconcile(replace(evidence, stored=stored)).altered == (SYS,)


def test_a_value_moved_to_another_time_is_altered_and_explains_the_stray_point() -> None:
    evidence = _clean()
    moved = replace(SPO2, time_ms=SPO2.time_ms + 1)
    stored = [p for p in evidence.stored if p.key != SPO2] + [StoredPoint(moved, VALUES[SPO2])]
    outcome = reconcile(replace(evidence, stored=stored))
    assert outcome.altered == (SPO2,)
    assert (outcome.lost, outcome.unexplained) == ((), 0)


def test_points_of_readings_the_device_did_not_hear_acknowledged_are_fine_but_counted() -> None:
    extra = ReadingKey("kiosk-2", "s-c", "8310-5", 3_000)
    evidence = _clean()
    outcome = reconcile(
        replace(
            evidence,
            stored=[*evidence.stored, StoredPoint(extra, Measured(36.8, "Cel"))],
            ledger={**evidence.ledger, "E4": [extra]},
            processed={"E1", "E2", "E4"},
        )
    )
    assert outcome.clean
    assert outcome.stored_unacknowledged == 1


def test_a_point_no_envelope_carries_is_unexplained() -> None:
    evidence = _clean()
    stray = StoredPoint(ReadingKey("kiosk-9", "s-z", "8480-6", 5), Measured(1.0, "mm[Hg]"))
    outcome = reconcile(replace(evidence, stored=[*evidence.stored, stray]))
    assert outcome.unexplained == 1
    assert not outcome.clean
