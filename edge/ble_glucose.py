"""The last stored record of each BLE glucose meter, kept in the outbox's ``counters`` table.

The BLE driver asks a meter only for records after ``last(device, address)``
(``drivers/ble_gatt/README.md``, "Durability"), so the number must be on disk exactly when the
record is: ``record`` runs inside the outbox transaction that stores the readings
(``Outbox.add_many``'s ``also``), and ``last`` reads it back from the database, never from memory.
A counter, not a query over the outbox, because published rows are purged after the replay window.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from drivers.ble_gatt import parse_glucose_ref
from drivers.contract import DeviceUnavailable, Reading
from edge import edge_db

COUNTERS_SCHEMA = "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
COUNTER_PREFIX = "ble_glucose"


def counter_name(device_id: str, address: str) -> str:
    return f"{COUNTER_PREFIX}:{device_id}:{address}"


class GlucoseCounters:
    def __init__(self, path: Path) -> None:
        """``path``: the outbox's SQLite file; reads use a connection of their own."""
        self._db = edge_db.connect(path, COUNTERS_SCHEMA)

    def last(self, device_id: str, address: str) -> int | None:
        """Highest stored record sequence number of that meter, or None when none is stored.

        Raises ``DeviceUnavailable`` when the database cannot answer: the driver must not guess,
        and the supervisor backs off and opens the device again.
        """
        try:
            row = self._db.execute(
                "SELECT value FROM counters WHERE name = ?", (counter_name(device_id, address),)
            ).fetchone()
        except sqlite3.Error as exc:
            raise DeviceUnavailable(f"{device_id}: last stored glucose record unreadable: {exc}") from exc
        return None if row is None else int(row[0])

    @staticmethod
    def record(db: sqlite3.Connection, readings: Sequence[Reading]) -> None:
        """Inside the outbox transaction: raise each meter's counter to its highest record in ``readings``
        (never lower it: a resent older record leaves it as it is). Other readings are ignored."""
        for reading in readings:
            ref = parse_glucose_ref(reading.source_ref)
            if ref is None:
                continue
            address, sequence = ref
            db.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)",
                (counter_name(reading.device_id, address), sequence),
            )

    def close(self) -> None:
        self._db.close()
