"""``careedge decode astm FILE``: JSON on success, one line and exit 2 on unusable input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from careedge.cli import app

CASES = Path(__file__).parent / "testcases"
LIPID = CASES / "lipid_panel_ldx"
URINE = CASES / "urine_strip_reader_si_units"
EXIT_INVALID = 2


def _decode(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["decode", "astm", *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_capture_prints_as_json_without_patient_data() -> None:
    code, out, err = _decode(str(LIPID / "transmission.astm"), "--timezone", "Asia/Shanghai")

    assert (code, err) == (0, "")
    assert json.loads(out) == json.loads((LIPID / "expected.json").read_text(encoding="utf-8"))
    for secret in ("CH000204", "SUN", "DEMING"):
        assert secret not in out


def test_the_analytes_option_picks_the_code_table() -> None:
    blood = json.loads(_decode(str(URINE / "transmission.astm"))[1])
    urine = json.loads(_decode(str(URINE / "transmission.astm"), "--analytes", "urine")[1])

    assert [obs["code"] for obs in urine["messages"][0]["readings"][0]["obs"]][:2] == ["5797-6", "5811-5"]
    assert {item["reason"] for item in blood["messages"][0]["skipped"]} == {"unmapped_code", "non_numeric"}


def test_an_unusable_message_exits_2_with_reason_and_position() -> None:
    path = CASES / "error_second_header" / "transmission.astm"

    code, out, err = _decode(str(path))

    assert (code, out) == (EXIT_INVALID, "")
    assert err == f"{path}: record_sequence: H[2] (record 3): one H record per message, found another\n"


def test_a_file_without_a_complete_message_exits_2(tmp_path: Path) -> None:
    path = CASES / "capture_without_terminator" / "transmission.astm"

    code, out, err = _decode(str(path))

    assert (code, out) == (EXIT_INVALID, "")
    assert err == f"{path}: no complete ASTM message (H ... L) found\n"


def test_a_bad_zone_and_a_missing_file_are_named(tmp_path: Path) -> None:
    assert _decode(str(LIPID / "transmission.astm"), "--timezone", "Mars/Olympus")[2].startswith(
        "--timezone:"
    )
    missing = tmp_path / "none.astm"
    assert _decode(str(missing))[2] == f"{missing}: cannot read: No such file or directory\n"
