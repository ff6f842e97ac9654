"""What rules that look back in time need from the store: a resident's samples of one code.

A small protocol so the trend and score rules stay pure and their tests need no database.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple, Protocol


class Sample(NamedTuple):
    """Ordered as the readings table orders a resident's readings of one code: by time, then ID."""

    at_ms: int
    """``measured_at`` in milliseconds since the Unix epoch, as stored."""
    reading_id: str
    value: float


class History(Protocol):
    def samples(self, subject: str, code: str, since_ms: int, until_ms: int) -> list[Sample]:
        """Samples with ``since_ms <= at_ms <= until_ms``, oldest first (same instant: by reading ID)."""
        ...

    def latest(self, subject: str, codes: Collection[str], since_ms: int, until_ms: int) -> dict[str, Sample]:
        """The newest sample of each code with ``since_ms <= at_ms <= until_ms``, by code (absent: none)."""
        ...
