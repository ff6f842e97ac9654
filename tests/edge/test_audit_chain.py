"""The audit log's hash chain, tampered with through sqlite3 as an intruder or a bad script would,
and checked with ``careedge audit verify`` exactly as an auditor runs it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from careedge.cli import app
from edge.audit import AuditEntry, AuditLog, cabinet_actor
from edge.audit_chain import CONTENT_COLUMNS, GENESIS, row_hash

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
SUBJECT = "s-" + "a" * 32
OLD_SCHEMA = """
CREATE TABLE audit (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, event TEXT NOT NULL, actor TEXT NOT NULL,
    session_id TEXT, subject TEXT, previous_subject TEXT, reading_id TEXT, envelope_id TEXT, reason TEXT
);
"""


def _fill(data_dir: Path, rows: int = 5) -> None:
    audit = AuditLog(data_dir / "edge.db")
    for n in range(rows):
        audit.record(
            AuditEntry(
                "dispensed",
                T0 + timedelta(minutes=n),
                cabinet_actor("cab-1"),
                subject=SUBJECT,
                detail={"slot": n + 1, "count_before": 28, "count_after": 27, "lot": "L-七"},
            )
        )
    audit.close()


def _verify(data_dir: Path) -> Result:
    return CliRunner().invoke(app, ["audit", "verify", "--data-dir", str(data_dir)])


def _tamper(data_dir: Path, sql: str, *args: object) -> None:
    db = sqlite3.connect(data_dir / "edge.db")
    with db:
        db.execute(sql, args)
    db.close()


def _row(data_dir: Path, row_id: int) -> tuple[list[object], str, str]:
    db = sqlite3.connect(data_dir / "edge.db")
    row = db.execute(
        f"SELECT {', '.join(CONTENT_COLUMNS)}, prev_hash, hash FROM audit WHERE id = ?",  # noqa: S608
        (row_id,),
    ).fetchone()
    db.close()
    return list(row[:-2]), row[-2], row[-1]


def test_untouched_log_verifies_and_names_its_head(tmp_path: Path) -> None:
    _fill(tmp_path)
    _, _, head = _row(tmp_path, 5)
    result = _verify(tmp_path)
    assert result.exit_code == 0, result.output
    assert f"OK, 5 rows, head {head}" in result.output


def test_changed_row_is_the_first_broken_link(tmp_path: Path) -> None:
    _fill(tmp_path)
    _tamper(tmp_path, "UPDATE audit SET subject = ? WHERE id = 3", "s-" + "b" * 32)
    content, prev_hash, stored = _row(tmp_path, 3)
    result = _verify(tmp_path)
    assert result.exit_code == 2
    computed = row_hash(prev_hash, content)
    assert f"BROKEN at row 3: content does not match its hash (stored {stored}, computed {computed})" in (
        result.output
    )


def test_changed_detail_is_caught_too(tmp_path: Path) -> None:
    _fill(tmp_path)
    _tamper(tmp_path, "UPDATE audit SET detail = replace(detail, '27', '26') WHERE id = 2")
    result = _verify(tmp_path)
    assert result.exit_code == 2
    assert "BROKEN at row 2: content does not match its hash" in result.output


def test_deleted_row_breaks_the_next_one(tmp_path: Path) -> None:
    _fill(tmp_path)
    _tamper(tmp_path, "DELETE FROM audit WHERE id = 3")
    result = _verify(tmp_path)
    assert result.exit_code == 2
    assert "BROKEN at row 4: follows row 2: row 3 missing" in result.output


def test_deleted_first_row_breaks_the_link_to_genesis(tmp_path: Path) -> None:
    _fill(tmp_path)
    _tamper(tmp_path, "DELETE FROM audit WHERE id = 1")
    result = _verify(tmp_path)
    assert result.exit_code == 2
    assert "BROKEN at row 2: follows row 0: row 1 missing" in result.output


def test_inserted_row_without_the_chain_is_caught(tmp_path: Path) -> None:
    _fill(tmp_path)
    _tamper(
        tmp_path,
        "INSERT INTO audit (id, at, event, actor, subject) VALUES (6, ?, 'dispensed', 'cabinet:cab-1', ?)",
        (T0 + timedelta(hours=1)).isoformat(),
        SUBJECT,
    )
    result = _verify(tmp_path)
    assert result.exit_code == 2
    assert "BROKEN at row 6: no hash: the row was written outside the audit log" in result.output


def test_inserted_row_with_a_forged_hash_breaks_the_link(tmp_path: Path) -> None:
    """A forger who knows the hash scheme but not the chain's head: the content hash holds, the link not."""
    _fill(tmp_path)
    _, _, head = _row(tmp_path, 5)
    content: list[object] = [6, (T0 + timedelta(hours=1)).isoformat(), "refill_recorded", "pharmacist:x"]
    content += [None] * (len(CONTENT_COLUMNS) - len(content))
    forged = row_hash(GENESIS, content)
    _tamper(
        tmp_path,
        f"INSERT INTO audit ({', '.join(CONTENT_COLUMNS)}, prev_hash, hash) "  # noqa: S608
        f"VALUES ({', '.join('?' * len(CONTENT_COLUMNS))}, ?, ?)",
        *content,
        GENESIS,
        forged,
    )
    result = _verify(tmp_path)
    assert result.exit_code == 2
    assert f"BROKEN at row 6: link broken: prev_hash {GENESIS} but row 5 has hash {head}" in result.output


def test_only_the_first_of_several_breaks_is_reported(tmp_path: Path) -> None:
    _fill(tmp_path)
    _tamper(tmp_path, "UPDATE audit SET actor = 'edge' WHERE id IN (2, 4)")
    result = _verify(tmp_path)
    assert "BROKEN at row 2:" in result.output
    assert "row 4" not in result.output


def test_database_from_before_the_chain_is_sealed_and_extended(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "edge.db")
    db.executescript(OLD_SCHEMA)
    with db:
        for n in range(3):
            db.execute(
                "INSERT INTO audit (at, event, actor, subject) VALUES (?, 'session_started', 'reader:r', ?)",
                ((T0 + timedelta(minutes=n)).isoformat(timespec="microseconds"), SUBJECT),
            )
    db.close()
    audit = AuditLog(tmp_path / "edge.db")
    audit.record(AuditEntry("session_ended", T0 + timedelta(hours=1), "edge", subject=SUBJECT))
    assert [entry.event for entry in audit.entries(10)] == ["session_ended"] + ["session_started"] * 3
    audit.close()
    result = _verify(tmp_path)
    assert result.exit_code == 0, result.output
    assert "OK, 4 rows" in result.output


def test_rows_written_in_an_outer_transaction_join_the_chain(tmp_path: Path) -> None:
    """Rows that commit with an outbox message are written on another connection: one chain still."""
    _fill(tmp_path, rows=2)
    audit = AuditLog(tmp_path / "edge.db")
    other = sqlite3.connect(tmp_path / "edge.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    audit.record(AuditEntry("dispensed", T0, "edge", detail={"slot": 1}), other)
    other.execute("COMMIT")
    audit.record(AuditEntry("dispensed", T0, "edge", detail={"slot": 2}))
    other.close()
    audit.close()
    result = _verify(tmp_path)
    assert result.exit_code == 0, result.output
    assert "OK, 4 rows" in result.output


def test_the_site_file_names_the_data_dir(tmp_path: Path) -> None:
    _fill(tmp_path / "data", rows=2)
    site = tmp_path / "edge.yaml"
    site.write_text(
        "site: {id: home-a}\nbroker: {insecure: true}\n"
        f"gateway: {{id: gw-1, data_dir: {tmp_path / 'data'}, pseudonym_secret_file: /nonexistent}}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["audit", "verify", "--config", str(site)])
    assert result.exit_code == 0, result.output
    assert "OK, 2 rows" in result.output


@pytest.mark.parametrize("args", [[], ["--data-dir", "x", "--config", "y"]])
def test_needs_exactly_one_source(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["audit", "verify", *args])
    assert result.exit_code == 2
    assert "exactly one of --data-dir and --config" in result.output
