"""Read back what each part holds at the end of a run, as the keys ``reconcile`` compares.

Each store is opened read-only, after its writers have stopped or while they idle; nothing here
changes what it reads.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from careedge_common.pseudonym import Pseudonymiser
from careedge_testkit.chaos.reconcile import Measured, ReadingKey, StoredPoint
from careedge_testkit.servers import VictoriaMetrics
from firmware_sim.kiosk import MessageRecord

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)


class KeyCollision(Exception):
    """Two acknowledged readings share a store key: one would hide the other's loss."""


def epoch_ms(moment: datetime) -> int:
    """Exact milliseconds since the epoch (float seconds round some timestamps 1 ms early)."""
    return (moment - EPOCH) // ONE_MS


def acknowledged_readings(
    records: Iterable[MessageRecord], device: str, pseudonymiser: Pseudonymiser, facility: str
) -> dict[ReadingKey, Measured]:
    """Each observation of each acknowledged kiosk message, keyed as the bridge stores it.

    Raises ``KeyCollision`` when two observations share a key (a roster too small for the rate).
    """
    readings: dict[ReadingKey, Measured] = {}
    for record in records:
        subject = pseudonymiser.subject(record.resident_id, facility)
        for obs in record.observations:
            key = ReadingKey(device, subject, obs.code, epoch_ms(obs.observed_at))
            if key in readings:
                raise KeyCollision(f"two acknowledged readings at {key}")
            readings[key] = Measured(obs.canonical_value, obs.canonical_unit)
    return readings


def stored_points(tsdb: VictoriaMetrics, site: str) -> list[StoredPoint]:
    return [
        StoredPoint(
            ReadingKey(labels["device"], labels["subject"], labels["code"], int(timestamp)),
            Measured(float(value), labels["unit"]),
        )
        for series in tsdb.export(f'{{__name__="vitals_value",site="{site}"}}')
        for labels in (series["metric"],)
        for value, timestamp in zip(series["values"], series["timestamps"], strict=True)
    ]


def _read_only(path: Path) -> contextlib.closing[sqlite3.Connection]:
    return contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True))


def outbox_ledger(outbox_path: Path) -> dict[str, list[ReadingKey]]:
    """Envelope ID -> the readings of every observation envelope the edge's outbox holds."""
    with _read_only(outbox_path) as db:
        rows = db.execute("SELECT id, payload FROM outbox").fetchall()
    ledger: dict[str, list[ReadingKey]] = {}
    for envelope_id, payload in rows:
        envelope = json.loads(payload)
        if envelope["type"] != "observation":
            continue
        time_ms = epoch_ms(datetime.fromisoformat(envelope["measured_at"]))
        ledger[envelope_id] = [
            ReadingKey(envelope["device"], envelope["subject"] or "", obs["code"], time_ms)
            for obs in envelope["obs"]
        ]
    return ledger


def outbox_state(outbox_path: Path) -> tuple[set[str], int]:
    """(every envelope ID in the outbox, how many are not yet acknowledged by the broker)."""
    with _read_only(outbox_path) as db:
        ids = {row[0] for row in db.execute("SELECT id FROM outbox")}
        pending = int(db.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0])
    return ids, pending


def published_at(outbox_path: Path, envelope_ids: Iterable[str]) -> Mapping[str, float | None]:
    """When the edge marked each envelope acknowledged by the broker (Unix seconds), or None."""
    with _read_only(outbox_path) as db:
        return {
            envelope_id: (row[0] if row else None)
            for envelope_id in envelope_ids
            for row in (
                db.execute("SELECT published_at FROM outbox WHERE id = ?", (envelope_id,)).fetchone(),
            )
        }


def processed_ids(store_path: Path) -> set[str]:
    with _read_only(store_path) as db:
        return {row[0] for row in db.execute("SELECT envelope_id FROM processed")}


READING_ROW_TABLES = ("alerts", "readings")
"""Tables of the bridge's relational store whose rows each name one reading by (``reading_id``,
``code``): alerts while they were one per reading, residents' readings since alerts have a
lifecycle. Those present in the store are read."""


def reading_rows(store_path: Path) -> dict[str, list[tuple[str, str]]]:
    """Table -> (envelope ID, code) of each row, for the tables of ``READING_ROW_TABLES`` that have
    both columns in this store's schema."""
    rows: dict[str, list[tuple[str, str]]] = {}
    with _read_only(store_path) as db:
        for table in READING_ROW_TABLES:
            columns = {row[1] for row in db.execute("SELECT * FROM pragma_table_info(?)", (table,))}
            if {"reading_id", "code"} <= columns:
                query = f"SELECT reading_id, code FROM {table}"  # noqa: S608
                rows[table] = [(row[0], row[1]) for row in db.execute(query)]
    return rows
