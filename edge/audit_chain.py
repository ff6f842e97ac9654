"""The audit log's hash chain: each row seals its own content and the row before it.

A row's ``hash`` is SHA-256 over the previous row's ``hash`` and the row's canonical content (its
``id`` and every audited column as sorted, compact JSON); the first row's previous hash is
``GENESIS``. Changing a row breaks its own hash; deleting or inserting one breaks the link of the
row after it or leaves a gap in the ids. Anyone who can write the file and knows this scheme can
recompute the whole chain, so the chain proves that rows were not edited by hand or by a bug, not
that a determined intruder was kept out (that needs the head published off the machine).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
CONTENT_COLUMNS = (
    "id",
    "at",
    "event",
    "actor",
    "session_id",
    "subject",
    "previous_subject",
    "reading_id",
    "envelope_id",
    "reason",
    "detail",
)
"""What a row's hash covers, in the order ``SELECT`` lists them; ``prev_hash`` is chained in too."""


def row_hash(prev_hash: str, content: Sequence[Any]) -> str:
    canonical = json.dumps(
        dict(zip(CONTENT_COLUMNS, content, strict=True)),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class BrokenLink:
    row_id: int
    problem: str
    """What differs, in words, with the stored and the expected values."""

    def __str__(self) -> str:
        return f"row {self.row_id}: {self.problem}"


@dataclass(frozen=True, slots=True)
class ChainReport:
    rows: int
    """Rows checked (up to and including the broken one)."""
    head: str
    """The last good row's hash (``GENESIS`` for an empty log)."""
    broken: BrokenLink | None


def chain_rows(db: sqlite3.Connection) -> Iterable[tuple[Any, ...]]:
    """Every row as (content columns..., prev_hash, hash), in id order."""
    columns = ", ".join((*CONTENT_COLUMNS, "prev_hash", "hash"))
    return db.execute(f"SELECT {columns} FROM audit ORDER BY id")  # noqa: S608 - fixed column names


def verify(rows: Iterable[Sequence[Any]]) -> ChainReport:
    """Walk the chain in id order and stop at the first row that does not hold."""
    expected_prev = GENESIS
    previous_id = 0
    count = 0
    for row in rows:
        count += 1
        content, prev_hash, stored = row[:-2], row[-2], row[-1]
        row_id = int(content[0])
        broken = _first_problem(row_id, previous_id, expected_prev, content, prev_hash, stored)
        if broken is not None:
            return ChainReport(count, expected_prev, broken)
        expected_prev = stored
        previous_id = row_id
    return ChainReport(count, expected_prev, None)


def _first_problem(
    row_id: int,
    previous_id: int,
    expected_prev: str,
    content: Sequence[Any],
    prev_hash: str | None,
    stored: str | None,
) -> BrokenLink | None:
    if stored is None or prev_hash is None:
        return BrokenLink(row_id, "no hash: the row was written outside the audit log")
    computed = row_hash(prev_hash, content)
    if computed != stored:
        return BrokenLink(row_id, f"content does not match its hash (stored {stored}, computed {computed})")
    if row_id != previous_id + 1:
        first, last = previous_id + 1, row_id - 1
        missing = f"row {first}" if first == last else f"rows {first}-{last}"
        return BrokenLink(row_id, f"follows row {previous_id}: {missing} missing")
    if prev_hash != expected_prev:
        return BrokenLink(
            row_id,
            f"link broken: prev_hash {prev_hash} but row {previous_id} has hash {expected_prev}",
        )
    return None
