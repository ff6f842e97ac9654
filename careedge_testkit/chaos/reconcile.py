"""Every reading a device was told is stored, checked against where it must have ended up.

The devices' own record of what was acknowledged is the truth. The edge's outbox is the ledger
that ties each envelope ID to the readings it carries, which is how the bridge's relational store
(envelope IDs only) and its alert rows are read back as readings. A reading is

- lost when the outbox never took it, no envelope carrying it was recorded as processed by a
  bridge, or the time-series store has no point at its key;
- duplicated when it travelled in more than one envelope (the edge took a resend as new) or was
  processed under more than one envelope ID, or has two rows in a table of the relational store
  that keeps one per reading (alerts, residents' readings);
- altered when the point at its key has another value or unit, or its value sits at another
  timestamp of the same series.

Stored points that no acknowledged reading explains are counted too: from the outbox they are
readings whose acknowledgement the device never heard (harmless: at least once), otherwise they
are unexplained, which would mean something was made up or rewritten on the way.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, order=True)
class ReadingKey:
    """The identity of a point in the time-series store (DESIGN §4): tags and time."""

    device: str
    subject: str
    code: str
    time_ms: int


@dataclass(frozen=True, slots=True)
class Measured:
    value: float
    unit: str


@dataclass(frozen=True, slots=True)
class StoredPoint:
    key: ReadingKey
    measured: Measured


@dataclass(frozen=True, slots=True)
class Evidence:
    acknowledged: Mapping[ReadingKey, Measured]
    """What the devices got acknowledged, in canonical units."""
    stored: Sequence[StoredPoint]
    """Every point of the site in the time-series store."""
    ledger: Mapping[str, Sequence[ReadingKey]]
    """Envelope ID -> the readings it carries, from the edge's outbox."""
    processed: Set[str]
    """Envelope IDs the bridges recorded as processed in the relational store."""
    reading_rows: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)
    """Table -> (envelope ID, code) of each row of the relational store that records one reading."""


@dataclass(frozen=True, slots=True)
class Reconciliation:
    acknowledged: int
    lost: tuple[ReadingKey, ...]
    not_in_outbox: int
    not_processed: int
    not_in_tsdb: int
    duplicated: tuple[ReadingKey, ...]
    duplicate_rows: int
    """Rows of one relational-store table beyond the first for one reading."""
    altered: tuple[ReadingKey, ...]
    stored_unacknowledged: int
    """Points of readings the edge stored whose acknowledgement the device did not hear."""
    unexplained: int
    """Points that no envelope of the outbox carries."""

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.duplicate_rows or self.altered or self.unexplained)


def reconcile(evidence: Evidence) -> Reconciliation:
    stored: dict[ReadingKey, set[Measured]] = defaultdict(set)
    for point in evidence.stored:
        stored[point.key].add(point.measured)
    envelopes_of: dict[ReadingKey, list[str]] = defaultdict(list)
    for envelope_id, keys in evidence.ledger.items():
        for key in keys:
            envelopes_of[key].append(envelope_id)

    extra = {key: values for key, values in stored.items() if key not in evidence.acknowledged}
    moved = _moved_in_time(evidence.acknowledged, stored, extra)
    altered = sorted(
        key
        for key, measured in evidence.acknowledged.items()
        if key in moved or (key in stored and stored[key] != {measured})
    )
    not_in_outbox = {key for key in evidence.acknowledged if not envelopes_of[key]}
    not_processed = {
        key
        for key in evidence.acknowledged
        if not any(envelope in evidence.processed for envelope in envelopes_of[key])
    }
    not_in_tsdb = {key for key in evidence.acknowledged if key not in stored and key not in moved}
    duplicated = sorted(
        key
        for key in evidence.acknowledged
        if len(envelopes_of[key]) > 1
        or sum(envelope in evidence.processed for envelope in envelopes_of[key]) > 1
    )
    return Reconciliation(
        acknowledged=len(evidence.acknowledged),
        lost=tuple(sorted(not_in_outbox | not_processed | not_in_tsdb)),
        not_in_outbox=len(not_in_outbox),
        not_processed=len(not_processed),
        not_in_tsdb=len(not_in_tsdb),
        duplicated=tuple(duplicated),
        duplicate_rows=sum(_extra_rows(rows, evidence.ledger) for rows in evidence.reading_rows.values()),
        altered=tuple(altered),
        stored_unacknowledged=sum(1 for key in extra if envelopes_of[key]),
        unexplained=sum(1 for key in extra if not envelopes_of[key]),
    )


def _moved_in_time(
    acknowledged: Mapping[ReadingKey, Measured],
    stored: Mapping[ReadingKey, set[Measured]],
    extra: dict[ReadingKey, set[Measured]],
) -> set[ReadingKey]:
    """Acknowledged readings absent at their key whose value sits at another time of their series.

    Each such point explains one reading only, and is taken out of ``extra``.
    """
    unclaimed: dict[tuple[str, str, str, Measured], list[ReadingKey]] = defaultdict(list)
    for key, values in extra.items():
        for measured in values:
            unclaimed[(key.device, key.subject, key.code, measured)].append(key)
    moved: set[ReadingKey] = set()
    for key, measured in sorted(acknowledged.items()):
        if key in stored:
            continue
        candidates = unclaimed[(key.device, key.subject, key.code, measured)]
        if candidates:
            extra.pop(candidates.pop(), None)
            moved.add(key)
    return moved


def _extra_rows(rows: Iterable[tuple[str, str]], ledger: Mapping[str, Sequence[ReadingKey]]) -> int:
    """Rows beyond the first for one reading (a reading stored or alerted under two envelope IDs)."""
    per_reading = Counter(
        key for envelope_id, code in rows for key in ledger.get(envelope_id, ()) if key.code == code
    )
    return sum(count - 1 for count in per_reading.values())
