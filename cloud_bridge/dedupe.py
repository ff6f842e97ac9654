"""A bounded window of recently processed envelope IDs, checked before the relational store.

Re-deliveries arrive soon after the original (broker redelivery after a reconnect, a gateway
retry), so a window of the most recent IDs answers most of them without a query.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable


class RecentIds:
    """Least recently added IDs are forgotten first once ``capacity`` is reached. One thread only."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, envelope_id: object) -> bool:
        return envelope_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add_all(self, envelope_ids: Iterable[str]) -> None:
        for envelope_id in envelope_ids:
            self._ids[envelope_id] = None
            self._ids.move_to_end(envelope_id)
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
