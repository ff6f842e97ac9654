"""Which read requests fetch a set of points: contiguous ranges merged into one request each.

On an RS-485 bus at 9600 baud every request costs a turnaround of tens of milliseconds, so a poll
reads each run of adjacent addresses in one request. Gaps are never read across: an address the
profile does not name may not exist on the device, and reading it would fail the whole request
(exception 02, illegal data address). Requests stay within the device's size limits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from drivers.modbus.profile import Point, Table


@dataclass(frozen=True, slots=True)
class ReadBlock:
    table: Table
    address: int
    count: int
    """Bits or registers."""

    @property
    def end(self) -> int:
        return self.address + self.count

    def covers(self, point: Point) -> bool:
        return point.table is self.table and self.address <= point.address and point.end <= self.end


def plan_reads(points: Iterable[Point], max_registers: int, max_bits: int) -> list[ReadBlock]:
    """Fewest requests that read every point, ordered by table then address.

    A point is never split across two requests (a 32-bit value must be read whole). ``ValueError``
    if a single point is wider than the limit."""
    blocks: list[ReadBlock] = []
    ordered = sorted(points, key=lambda point: (point.table.value, point.address, point.width))
    for point in ordered:
        limit = max_bits if point.table.is_bits else max_registers
        if point.width > limit:
            raise ValueError(f"{'.'.join(point.key)} is wider than the {limit} a request may read")
        last = blocks[-1] if blocks else None
        if last is not None and last.table is point.table and point.address <= last.end:
            end = max(last.end, point.end)
            if end - last.address <= limit:
                blocks[-1] = ReadBlock(last.table, last.address, end - last.address)
                continue
        blocks.append(ReadBlock(point.table, point.address, point.width))
    return blocks
