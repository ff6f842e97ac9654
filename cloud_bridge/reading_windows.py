"""Residents' recent readings in memory between batches: the rules' ``History`` without a query
per resident, rule and batch.

Each batch scores NEWS2 and evaluates trends for every resident it carries. Reading their windows
back from the readings table each time cost more CPU than the rest of the alert engine, and grew
with the window. This keeps, per resident and code, every stored reading measured at or after a
bound (``since_ms``), sorted as the table sorts them: loaded from the table the first time a
window reaches back past the bound, kept current with each batch's own inserts, and trimmed to
``keep_ms`` behind the newest reading.

It is right only while nothing else writes the readings table, so it is dropped whenever
something else may have: another connection committed since the last batch (a second bridge on
the same store; SQLite's ``data_version`` tells), a transaction that used it did not commit
(``forget``), and pruning.
"""

from __future__ import annotations

import bisect
import sqlite3
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from careedge_common.envelope import Envelope
from cloud_bridge import alert_store
from cloud_bridge.history import Sample


@dataclass(slots=True)
class _Series:
    since_ms: int
    """Every stored reading of this resident and code measured at or after this is in ``samples``."""
    samples: list[Sample] = field(default_factory=list)


class ReadingWindows:
    """``History`` over the readings table, inside the caller's transaction (see ``begin``)."""

    def __init__(self, keep_ms: int) -> None:
        self._keep_ms = keep_ms
        self._series: dict[tuple[str, str], _Series] = {}
        self._db: sqlite3.Connection | None = None
        self._data_version: int | None = None

    def begin(self, db: sqlite3.Connection) -> None:
        """Use ``db`` (in a write transaction, so nobody else writes meanwhile) until the next call;
        forget everything if another connection has committed since the last batch."""
        version = db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self._series.clear()
            self._data_version = version
        self._db = db

    def forget(self) -> None:
        self._series.clear()
        self._data_version = None

    def add(self, envelopes: Iterable[Envelope]) -> None:
        """The readings ``alert_store.insert_readings`` just stored; only series already loaded
        need them (the others load them with the rest). A reading already stored (same time and
        ID) is ignored, as the insert ignored it."""
        touched: set[tuple[str, str]] = set()
        for envelope in envelopes:
            if envelope.subject is None or envelope.type != "observation":
                continue
            at_ms = envelope.measured_at_ms
            for observation in envelope.obs:
                key = (envelope.subject, observation.code)
                series = self._series.get(key)
                if series is None or at_ms < series.since_ms:
                    continue
                if _put(series.samples, Sample(at_ms, envelope.id, float(observation.value))):
                    touched.add(key)
        for key in touched:
            self._trim(self._series[key])

    def samples(self, subject: str, code: str, since_ms: int, until_ms: int) -> list[Sample]:
        samples = self._loaded(subject, code, since_ms).samples
        start = bisect.bisect_left(samples, (since_ms,))
        end = bisect.bisect_left(samples, (until_ms + 1,), lo=start)
        return samples[start:end]

    def latest(self, subject: str, codes: Collection[str], since_ms: int, until_ms: int) -> dict[str, Sample]:
        found: dict[str, Sample] = {}
        for code in codes:
            samples = self._loaded(subject, code, since_ms).samples
            end = bisect.bisect_left(samples, (until_ms + 1,))
            if end and samples[end - 1].at_ms >= since_ms:
                found[code] = samples[end - 1]
        return found

    def _loaded(self, subject: str, code: str, since_ms: int) -> _Series:
        key = (subject, code)
        series = self._series.get(key)
        if series is None or since_ms < series.since_ms:
            assert self._db is not None, "begin() first"
            rows = alert_store.readings_since(self._db, subject, code, since_ms)
            series = _Series(since_ms, [Sample(*row) for row in rows])
            self._series[key] = series
        return series

    def _trim(self, series: _Series) -> None:
        horizon = series.samples[-1].at_ms - self._keep_ms
        if series.samples[0].at_ms < horizon:
            del series.samples[: bisect.bisect_left(series.samples, (horizon,))]
            series.since_ms = max(series.since_ms, horizon)


def _put(samples: list[Sample], sample: Sample) -> bool:
    """Insert in order unless a sample with its time and ID is there; readings mostly arrive in
    time order, so mostly an append."""
    if not samples or samples[-1][:2] < sample[:2]:
        samples.append(sample)
        return True
    index = bisect.bisect_left(samples, sample[:2])
    if index < len(samples) and samples[index][:2] == sample[:2]:
        return False
    samples.insert(index, sample)
    return True
