"""The read planner: one request per contiguous run, never across gaps or device limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.modbus.planner import ReadBlock, plan_reads
from drivers.modbus.profile import Point, Repeat, Table, load_profile

PROFILES = Path(__file__).resolve().parents[3] / "config" / "profiles"


def _point(table: Table, address: int, width: int = 1, name: str = "p") -> Point:
    return Point(("section", name), table, address, width, "uint16", 1.0, 0, Repeat.ONCE)


def test_adjacent_points_are_read_in_one_request() -> None:
    points = [_point(Table.HOLDING_REGISTERS, a) for a in (3, 0, 2, 1)]
    assert plan_reads(points, 125, 2000) == [ReadBlock(Table.HOLDING_REGISTERS, 0, 4)]


def test_a_gap_starts_a_new_request() -> None:
    points = [_point(Table.INPUT_REGISTERS, 0, 2), _point(Table.INPUT_REGISTERS, 3)]
    assert plan_reads(points, 125, 2000) == [
        ReadBlock(Table.INPUT_REGISTERS, 0, 2),
        ReadBlock(Table.INPUT_REGISTERS, 3, 1),
    ]


def test_tables_are_never_merged() -> None:
    points = [_point(Table.COILS, 0), _point(Table.DISCRETE_INPUTS, 1)]
    assert [block.table for block in plan_reads(points, 125, 2000)] == [Table.COILS, Table.DISCRETE_INPUTS]


def test_the_device_limit_splits_a_run_without_splitting_a_value() -> None:
    points = [_point(Table.HOLDING_REGISTERS, a, 2) for a in (0, 2, 4)]
    assert plan_reads(points, 5, 2000) == [
        ReadBlock(Table.HOLDING_REGISTERS, 0, 4),
        ReadBlock(Table.HOLDING_REGISTERS, 4, 2),
    ]


def test_bit_tables_use_the_bit_limit() -> None:
    points = [_point(Table.COILS, a) for a in range(10)]
    assert plan_reads(points, 1, 4) == [
        ReadBlock(Table.COILS, 0, 4),
        ReadBlock(Table.COILS, 4, 4),
        ReadBlock(Table.COILS, 8, 2),
    ]


def test_a_point_wider_than_the_limit_is_refused() -> None:
    with pytest.raises(ValueError, match=r"section\.wide is wider than the 1"):
        plan_reads([_point(Table.HOLDING_REGISTERS, 0, 2, "wide")], 1, 2000)


def test_every_point_of_both_shipped_profiles_is_covered_exactly_once() -> None:
    for path in sorted(PROFILES.glob("*.yaml")):
        profile = load_profile(path)
        points = list(profile.points())
        plan = plan_reads(points, profile.max_read_registers, profile.max_read_bits)
        for point in points:
            assert sum(block.covers(point) for block in plan) == 1, (path.name, point)
        covered = sum(block.count for block in plan)
        assert covered == len({(p.table, a) for p in points for a in range(p.address, p.end)}), path.name
