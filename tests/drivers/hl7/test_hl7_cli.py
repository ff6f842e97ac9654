"""``careedge decode hl7 FILE``: JSON on success, one line and exit 2 on unusable input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from careedge.cli import app
from drivers.hl7.mllp import frame

CASES = Path(__file__).parent / "testcases"
KIOSK = CASES / "kiosk_loinc" / "message.hl7"
EXIT_INVALID = 2


def _decode(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["decode", "hl7", *args])
    return result.exit_code, result.stdout, result.stderr


def test_prints_the_message_as_json() -> None:
    code, out, err = _decode(str(KIOSK), "--timezone", "Asia/Shanghai")

    assert (code, err) == (0, "")
    printed = json.loads(out)
    assert printed == json.loads((CASES / "kiosk_loinc" / "expected.json").read_text())
    for secret in ("H00123", "WANG", "FANG"):
        assert secret not in out


def test_site_zone_defaults_to_utc() -> None:
    code, out, _ = _decode(str(KIOSK))

    assert code == 0
    assert json.loads(out)["measured_at"] == "2024-03-15T09:27:50.000Z"


def test_mllp_framed_file_decodes_like_the_bare_message(tmp_path: Path) -> None:
    framed = tmp_path / "capture.bin"
    framed.write_bytes(b"\r\n" + frame(KIOSK.read_bytes()) + b"\r\n")

    assert _decode(str(framed), "--timezone", "Asia/Shanghai") == _decode(
        str(KIOSK), "--timezone", "Asia/Shanghai"
    )


def test_file_with_two_frames_is_refused(tmp_path: Path) -> None:
    framed = tmp_path / "capture.bin"
    framed.write_bytes(frame(KIOSK.read_bytes()) * 2)

    code, out, err = _decode(str(framed))

    assert (code, out) == (EXIT_INVALID, "")
    assert err == f"{framed}: one complete MLLP frame (0x0B ... 0x1C 0x0D), found 2\n"


def test_malformed_message_exits_2_with_reason_and_position() -> None:
    path = CASES / "error_non_numeric_value" / "message.hl7"

    code, out, err = _decode(str(path))

    assert (code, out) == (EXIT_INVALID, "")
    assert err == f"{path}: bad_value: OBX[2]-5: a decimal number for 8480-6, found '12O'\n"


def test_unknown_time_zone_exits_2() -> None:
    code, _, err = _decode(str(KIOSK), "--timezone", "Mars/Olympus_Mons")

    assert code == EXIT_INVALID
    assert err == "--timezone: an IANA time zone such as 'Asia/Shanghai', found 'Mars/Olympus_Mons'\n"


def test_unreadable_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing.hl7"

    code, _, err = _decode(str(missing))

    assert code == EXIT_INVALID
    assert err == f"{missing}: cannot read: No such file or directory\n"


def test_installed_command_runs_in_a_process() -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "careedge", "decode", "hl7", str(KIOSK), "--timezone", "Asia/Shanghai"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    bad = subprocess.run(
        [sys.executable, "-m", "careedge", "decode", "hl7", str(CASES / "error_not_oru" / "message.hl7")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["control_id"] == "HS20240315093012001"
    assert bad.returncode == EXIT_INVALID
    assert bad.stderr.count("\n") == 1
    assert "not_oru: MSH-9: message type ORU^R01, found 'ADT^A01'" in bad.stderr
    assert "Traceback" not in bad.stderr
