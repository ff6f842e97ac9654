"""What rules that look back in time need from the store: a resident's samples of one code.

A small protocol so the trend and score rules stay pure and their tests need no database.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Sample:
    at: datetime
    value: float
    reading_id: str


class History(Protocol):
    def samples(self, subject: str, code: str, since: datetime, until: datetime) -> list[Sample]:
        """Samples with ``since <= at <= until``, oldest first (same instant: by reading ID)."""
        ...

    def latest(
        self, subject: str, codes: Collection[str], since: datetime, until: datetime
    ) -> dict[str, Sample]:
        """The newest sample of each code with ``since <= at <= until``, by code (absent: none)."""
        ...
