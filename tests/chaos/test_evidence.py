"""Reading the parts' stores back as reading keys: the edge's real outbox, the bridge's real store,
and kiosk records as the simulator makes them."""

from __future__ import annotations

import contextlib
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from careedge_common.envelope import Envelope, Observation, new_event_id
from careedge_common.pseudonym import Pseudonymiser
from careedge_testkit.chaos import evidence
from careedge_testkit.chaos.reconcile import Measured, ReadingKey
from edge.outbox import Message, Outbox
from firmware_sim.kiosk import generate_residents
from firmware_sim.kiosk.messages import MessageBuilder

MEASURED = datetime(2026, 12, 3, 7, 0, 0, 1000, tzinfo=UTC) + timedelta(microseconds=999)
"""7:00:00.001999 UTC: a float timestamp would round this millisecond either way."""


def _envelope(kind: str = "observation", subject: str | None = "s-1") -> Envelope:
    return Envelope(
        id=new_event_id(),
        seq=1,
        boot=1,
        site="home",
        gateway="gw-1",
        device="kiosk-1",
        type=kind,  # type: ignore[arg-type]
        measured_at=MEASURED,
        received_at=MEASURED,
        subject=subject,
        obs=[
            Observation(code="8480-6", name="Systolic", value=128, unit="mm[Hg]"),
            Observation(code="8462-4", name="Diastolic", value=82, unit="mm[Hg]"),
        ]
        if kind == "observation"
        else [],
        data=None if kind == "observation" else {"call": True},
    )


def test_the_outbox_ledger_names_each_observation_of_each_envelope(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "edge.db")
    bound, unbound, call = _envelope(), _envelope(subject=None), _envelope("call")
    for one in (bound, unbound, call):
        outbox.add(lambda seq, boot, one=one: Message(one.id, "t", one.model_dump_json().encode()))
    outbox.take(3)
    outbox.mark_published([1])
    ledger = evidence.outbox_ledger(tmp_path / "edge.db")
    ids, pending = evidence.outbox_state(tmp_path / "edge.db")
    published = evidence.published_at(tmp_path / "edge.db", [bound.id, unbound.id])
    outbox.close()

    time_ms = 1_796_281_200_001
    assert ledger == {
        bound.id: [
            ReadingKey("kiosk-1", "s-1", "8480-6", time_ms),
            ReadingKey("kiosk-1", "s-1", "8462-4", time_ms),
        ],
        unbound.id: [
            ReadingKey("kiosk-1", "", "8480-6", time_ms),
            ReadingKey("kiosk-1", "", "8462-4", time_ms),
        ],
    }
    assert (ids, pending) == ({bound.id, unbound.id, call.id}, 2)
    assert published[bound.id] is not None
    assert published[unbound.id] is None


def test_acknowledged_kiosk_records_become_keys_with_canonical_values() -> None:
    pseudonymiser = Pseudonymiser(b"0123456789abcdef0123456789abcdef")
    rng = random.Random(4)
    builder = MessageBuilder(rng=rng, facility="HOME", device_id="K1")
    resident = generate_residents(1, rng)[0]
    record = builder.build(resident, "C1").record
    readings = evidence.acknowledged_readings([record], "kiosk-1", pseudonymiser, "HOME")
    subject = pseudonymiser.subject(resident.resident_id, "HOME")
    assert readings == {
        ReadingKey("kiosk-1", subject, obs.code, evidence.epoch_ms(obs.observed_at)): Measured(
            obs.canonical_value, obs.canonical_unit
        )
        for obs in record.observations
    }
    with pytest.raises(evidence.KeyCollision):
        evidence.acknowledged_readings([record, record], "kiosk-1", pseudonymiser, "HOME")


def test_epoch_ms_is_exact() -> None:
    assert evidence.epoch_ms(MEASURED) == 1_796_281_200_001


def test_reading_rows_come_from_the_tables_that_name_readings_in_this_schema(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.executescript(
            """
            CREATE TABLE processed (envelope_id TEXT PRIMARY KEY);
            CREATE TABLE alerts (id TEXT PRIMARY KEY, reading_id TEXT, code TEXT);
            CREATE TABLE readings (subject TEXT, code TEXT, value REAL);
            INSERT INTO processed VALUES ('E1'), ('E2');
            INSERT INTO alerts VALUES ('A1', 'E1', '8480-6'), ('A2', 'E2', '59408-5');
            INSERT INTO readings VALUES ('s-1', '8480-6', 128);
            """
        )
    assert evidence.reading_rows(path) == {"alerts": [("E1", "8480-6"), ("E2", "59408-5")]}
    assert evidence.processed_ids(path) == {"E1", "E2"}
