"""Tokens are made by the CLI, kept only as hashes in a private file, and name their actor."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from careedge.cli import app
from careedge_common.access.guard import FailureLimiter
from careedge_common.access.roles import Actor
from careedge_common.access.tokens import TokenError, TokenFile


def test_cli_prints_the_token_once_and_stores_only_its_hash(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    result = CliRunner().invoke(
        app, ["token", "create", "--role", "nurse", "--name", "li", "--file", str(path)]
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert len(token) >= 43
    text = path.read_text()
    assert token not in text
    assert json.loads(text)["tokens"][0]["role"] == "nurse"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert TokenFile(path).actor(token) == Actor("li", "nurse")
    assert TokenFile(path).actor(token + "x") is None


def test_cli_refuses_an_unknown_role_and_a_name_that_is_no_login(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    runner = CliRunner()
    bad_role = runner.invoke(
        app, ["token", "create", "--role", "doctor", "--name", "li", "--file", str(path)]
    )
    bad_name = runner.invoke(
        app, ["token", "create", "--role", "nurse", "--name", "Li Wei", "--file", str(path)]
    )
    assert (bad_role.exit_code, bad_name.exit_code) == (2, 2)
    assert "resident_kiosk, pharmacist, nurse, technician, admin" in bad_role.stderr
    assert not path.exists()


def test_a_running_reader_sees_a_token_made_after_it_started(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    reader = TokenFile(path)
    first = TokenFile(path).create("li", "nurse", datetime.now(UTC))
    assert reader.actor(first) == Actor("li", "nurse")
    second = TokenFile(path).create("wang", "pharmacist", datetime.now(UTC))
    assert reader.actor(second) == Actor("wang", "pharmacist")
    assert reader.actor(first) == Actor("li", "nurse")


def test_failures_block_a_client_only_within_the_window() -> None:
    now = [0.0]
    limiter = FailureLimiter(limit=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.blocked_for("10.0.0.1") == 0
        limiter.failed("10.0.0.1")
    assert limiter.blocked_for("10.0.0.1") == 60
    assert limiter.blocked_for("10.0.0.2") == 0
    now[0] = 59.5
    assert limiter.blocked_for("10.0.0.1") == 0.5
    now[0] = 60.0
    assert limiter.blocked_for("10.0.0.1") == 0


def _create(role: str, name: str, path: Path) -> Result:
    return CliRunner().invoke(app, ["token", "create", "--role", role, "--name", name, "--file", str(path)])


def test_a_hand_edited_entry_with_an_unknown_role_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"tokens": [{"hash": "00", "name": "x", "role": "root"}]}))
    with pytest.raises(TokenError, match="role 'root'"):
        TokenFile(path).actor("anything")
