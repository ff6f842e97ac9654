"""SQL for alerts, their transitions, residents' readings and scores, and gateways' state.

Every function takes a connection inside a transaction that ``BridgeStore.transaction`` opened,
so a batch's processed IDs, readings, alert transitions and webhook deliveries commit together.
At most one alert per (scope, condition) is open: a partial unique index holds that even for two
bridges sharing one store, because their write transactions are serialised.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from careedge_common.envelope import Envelope
from careedge_common.epoch import epoch_ms
from cloud_bridge.alert import Alert, AlertState, Severity, Transition

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    condition TEXT NOT NULL,
    category TEXT NOT NULL,
    state TEXT NOT NULL,
    severity TEXT NOT NULL,
    subject TEXT,
    raised_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    escalate_at_ms INTEGER,
    document TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_open ON alerts (scope, condition) WHERE state != 'resolved';
CREATE INDEX IF NOT EXISTS alerts_by_time ON alerts (raised_at_ms);
CREATE INDEX IF NOT EXISTS alerts_to_escalate ON alerts (escalate_at_ms) WHERE escalate_at_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS alert_transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL REFERENCES alerts (id),
    kind TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    actor TEXT,
    severity TEXT NOT NULL,
    reading_ids TEXT NOT NULL,
    routes TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_of_alert ON alert_transitions (alert_id, id);
CREATE TABLE IF NOT EXISTS readings (
    subject TEXT NOT NULL,
    code TEXT NOT NULL,
    measured_at_ms INTEGER NOT NULL,
    reading_id TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (subject, code, measured_at_ms, reading_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS readings_by_age ON readings (measured_at_ms);
CREATE TABLE IF NOT EXISTS resident_scores (
    subject TEXT PRIMARY KEY,
    measured_at_ms INTEGER NOT NULL,
    score TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gateway_status (
    gateway TEXT PRIMARY KEY,
    online INTEGER NOT NULL,
    since_ms INTEGER NOT NULL,
    alerted INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
"""

LOOKUP_CHUNK = 500
"""Values per ``IN (…)`` query, well under SQLite's bound-parameter limit."""
MAX_READING_IDS = 200
"""Reading IDs kept in an alert document; every transition keeps its own in full."""


class AlertNotFound(LookupError):
    pass


class AlertClosed(ValueError):
    """The alert is resolved: nothing more can happen to it."""


def to_ms(moment: datetime | None) -> int | None:
    return None if moment is None else epoch_ms(moment)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def open_alert(db: sqlite3.Connection, scope: str, condition: str) -> Alert | None:
    row = db.execute(
        "SELECT document FROM alerts WHERE scope = ? AND condition = ? AND state != 'resolved'",
        (scope, condition),
    ).fetchone()
    return None if row is None else Alert.model_validate_json(row[0])


def open_alerts(db: sqlite3.Connection, scopes: Collection[str]) -> list[Alert]:
    """The open alerts of these scopes."""
    found: list[Alert] = []
    listed = list(scopes)
    for start in range(0, len(listed), LOOKUP_CHUNK):
        chunk = listed[start : start + LOOKUP_CHUNK]
        marks = ",".join("?" * len(chunk))
        query = f"SELECT document FROM alerts WHERE state != 'resolved' AND scope IN ({marks})"  # noqa: S608
        found.extend(Alert.model_validate_json(row[0]) for row in db.execute(query, chunk))
    return found


def any_alert(db: sqlite3.Connection, scope: str, condition: str) -> bool:
    row = db.execute("SELECT 1 FROM alerts WHERE scope = ? AND condition = ? LIMIT 1", (scope, condition))
    return row.fetchone() is not None


def get_alert(db: sqlite3.Connection, alert_id: str) -> Alert:
    row = db.execute("SELECT document FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    if row is None:
        raise AlertNotFound(alert_id)
    return Alert.model_validate_json(row[0])


def save(db: sqlite3.Connection, transition: Transition, escalate_at: datetime | None) -> int:
    """Store the alert document after ``transition`` and append the transition; returns the
    transition's id. ``raised`` inserts a new alert. ``repeated`` only adds reading IDs, so the
    state, severity and escalation time stay as stored; any other step sets them (``escalate_at``)."""
    alert = transition.alert
    if transition.kind == "raised":
        db.execute(
            "INSERT INTO alerts (id, scope, condition, category, state, severity, subject, raised_at_ms,"
            " updated_at_ms, escalate_at_ms, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                alert.id,
                alert.scope,
                alert.condition,
                alert.category,
                alert.state,
                alert.severity,
                alert.subject,
                epoch_ms(alert.raised_at),
                epoch_ms(alert.updated_at),
                to_ms(escalate_at),
                transition.document,
            ),
        )
    elif transition.kind == "repeated":
        db.execute(
            "UPDATE alerts SET updated_at_ms = ?, document = ? WHERE id = ?",
            (epoch_ms(alert.updated_at), transition.document, alert.id),
        )
    else:
        db.execute(
            "UPDATE alerts SET state = ?, severity = ?, updated_at_ms = ?, escalate_at_ms = ?, document = ?"
            " WHERE id = ?",
            (
                alert.state,
                alert.severity,
                epoch_ms(alert.updated_at),
                to_ms(escalate_at),
                transition.document,
                alert.id,
            ),
        )
    cursor = db.execute(
        "INSERT INTO alert_transitions (alert_id, kind, at_ms, actor, severity, reading_ids, routes)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            alert.id,
            transition.kind,
            epoch_ms(transition.at),
            transition.actor,
            alert.severity,
            json.dumps(list(transition.reading_ids)),
            json.dumps(list(transition.routes)),
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def due_for_escalation(db: sqlite3.Connection, now: datetime) -> list[Alert]:
    rows = db.execute(
        "SELECT document FROM alerts WHERE escalate_at_ms IS NOT NULL AND escalate_at_ms <= ?"
        " ORDER BY escalate_at_ms",
        (epoch_ms(now),),
    )
    return [Alert.model_validate_json(row[0]) for row in rows]


def stop_escalation(db: sqlite3.Connection, alert_id: str) -> None:
    db.execute("UPDATE alerts SET escalate_at_ms = NULL WHERE id = ?", (alert_id,))


def transitions(db: sqlite3.Connection, alert_id: str) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT kind, at_ms, actor, severity, reading_ids, routes FROM alert_transitions"
        " WHERE alert_id = ? ORDER BY id",
        (alert_id,),
    )
    return [
        {
            "kind": kind,
            "at": from_ms(at_ms),
            "actor": actor,
            "severity": severity,
            "reading_ids": json.loads(reading_ids),
            "routes": json.loads(routes),
        }
        for kind, at_ms, actor, severity, reading_ids, routes in rows
    ]


@dataclass(frozen=True, slots=True)
class AlertFilter:
    severity: Severity | None = None
    subject: str | None = None
    since: datetime | None = None
    state: AlertState | None = None
    open_only: bool = False
    category: str | None = None
    scope: str | None = None
    limit: int = 100


def find_alerts(db: sqlite3.Connection, where: AlertFilter) -> list[Alert]:
    """Newest first. ``since`` (UTC-aware) is inclusive and compares with ``raised_at``."""
    clauses: list[str] = []
    params: list[str | int] = []
    for column, value in (
        ("severity", where.severity),
        ("subject", where.subject),
        ("state", where.state),
        ("category", where.category),
        ("scope", where.scope),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if where.open_only:
        clauses.append("state != 'resolved'")
    if where.since is not None:
        clauses.append("raised_at_ms >= ?")
        params.append(epoch_ms(where.since))
    condition = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    query = f"SELECT document FROM alerts {condition} ORDER BY raised_at_ms DESC, id DESC LIMIT ?"  # noqa: S608
    return [Alert.model_validate_json(row[0]) for row in db.execute(query, [*params, where.limit])]


def insert_readings(db: sqlite3.Connection, envelopes: Iterable[Envelope]) -> None:
    """Observations of residents (bound readings only), for trends, scores and the API. Inserted in
    key order, which SQLite's B-tree takes faster than arrival order; a stable sort, so of two
    observations with one key the first still wins."""
    rows = [
        (envelope.subject, observation.code, envelope.measured_at_ms, envelope.id, observation.value)
        for envelope in envelopes
        if envelope.subject is not None and envelope.type == "observation"
        for observation in envelope.obs
    ]
    rows.sort(key=lambda row: row[:4])
    db.executemany(
        "INSERT OR IGNORE INTO readings (subject, code, measured_at_ms, reading_id, value)"
        " VALUES (?, ?, ?, ?, ?)",
        rows,
    )


def readings_since(
    db: sqlite3.Connection, subject: str, code: str, since_ms: int
) -> list[tuple[int, str, float]]:
    """(measured_at_ms, reading_id, value) of a resident's readings of one code from ``since_ms`` on,
    oldest first (same instant: by reading ID)."""
    rows = db.execute(
        "SELECT measured_at_ms, reading_id, value FROM readings WHERE subject = ? AND code = ?"
        " AND measured_at_ms >= ? ORDER BY measured_at_ms, reading_id",
        (subject, code, since_ms),
    )
    return rows.fetchall()


def last_measured(db: sqlite3.Connection, since: datetime) -> dict[tuple[str, str], datetime]:
    """Newest measurement time per (subject, code) since ``since``."""
    rows = db.execute(
        "SELECT subject, code, MAX(measured_at_ms) FROM readings WHERE measured_at_ms >= ?"
        " GROUP BY subject, code",
        (epoch_ms(since),),
    )
    return {(subject, code): from_ms(at_ms) for subject, code, at_ms in rows}


def known_subjects(db: sqlite3.Connection, since: datetime) -> set[str]:
    rows = db.execute("SELECT DISTINCT subject FROM readings WHERE measured_at_ms >= ?", (epoch_ms(since),))
    return {row[0] for row in rows}


def put_score(db: sqlite3.Connection, subject: str, measured_at: datetime, score: dict[str, Any]) -> None:
    """Keep the score of the newest measurement: a replayed older one does not replace it."""
    db.execute(
        "INSERT INTO resident_scores (subject, measured_at_ms, score) VALUES (?, ?, ?)"
        " ON CONFLICT (subject) DO UPDATE SET measured_at_ms = excluded.measured_at_ms,"
        " score = excluded.score"
        " WHERE excluded.measured_at_ms >= resident_scores.measured_at_ms",
        (subject, epoch_ms(measured_at), json.dumps(score)),
    )


def scores(db: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    rows = db.execute("SELECT subject, measured_at_ms, score FROM resident_scores")
    return {subject: {**json.loads(score), "measured_at": from_ms(at_ms)} for subject, at_ms, score in rows}


def set_gateway_online(db: sqlite3.Connection, gateway: str, online: bool, now: datetime) -> None:
    """Record a change of state; a repeated state keeps its original ``since``."""
    db.execute(
        "INSERT INTO gateway_status (gateway, online, since_ms, alerted) VALUES (?, ?, ?, 0)"
        " ON CONFLICT (gateway) DO UPDATE SET online = excluded.online, since_ms = excluded.since_ms,"
        " alerted = 0 WHERE gateway_status.online != excluded.online",
        (gateway, int(online), epoch_ms(now)),
    )


def offline_unalerted(db: sqlite3.Connection, offline_since: datetime) -> list[str]:
    rows = db.execute(
        "SELECT gateway FROM gateway_status WHERE online = 0 AND alerted = 0 AND since_ms <= ?",
        (epoch_ms(offline_since),),
    )
    return [row[0] for row in rows]


def mark_offline_alerted(db: sqlite3.Connection, gateway: str) -> None:
    db.execute("UPDATE gateway_status SET alerted = 1 WHERE gateway = ?", (gateway,))


def prune_readings(db: sqlite3.Connection, older_than: datetime) -> int:
    return db.execute("DELETE FROM readings WHERE measured_at_ms < ?", (epoch_ms(older_than),)).rowcount
