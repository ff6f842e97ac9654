"""``careedge decode ble.<name> HEX``: JSON on success, else one line naming offset and field, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from careedge.cli import app
from drivers.ble.registry import CHARACTERISTICS

CASES = Path(__file__).parent / "testcases"
EXIT_INVALID = 2
SUCCESS = sorted(str(path.parent.relative_to(CASES)) for path in CASES.glob("*/*/expected.json"))


def _hex(path: Path) -> str:
    return " ".join(line.split("#", 1)[0].strip() for line in path.read_text().splitlines()).strip()


def _decode(name: str, *hex_args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["decode", f"ble.{name}", *hex_args])
    return result.exit_code, result.stdout, result.stderr


def test_every_characteristic_has_a_command_beside_hl7() -> None:
    result = CliRunner().invoke(app, ["decode", "--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0
    assert " hl7 " in result.stdout
    for name in CHARACTERISTICS:
        assert f" ble.{name} " in result.stdout


@pytest.mark.parametrize("case", SUCCESS)
def test_prints_the_decoded_value_as_json(case: str) -> None:
    name = case.split("/")[0]

    code, out, err = _decode(name, _hex(CASES / case / "payload.hex"))

    assert (code, err) == (0, "")
    assert json.loads(out) == json.loads((CASES / case / "expected.json").read_text())


@pytest.mark.parametrize(
    "hex_args",
    [
        ("06 48",),
        ("06", "48"),
        ("06:48",),
        ("0648",),
        ("06 : 48",),
    ],
)
def test_hex_may_be_spaced_split_or_colon_separated(hex_args: tuple[str, ...]) -> None:
    code, out, _ = _decode("heart_rate", *hex_args)

    assert code == 0
    assert json.loads(out)["value"]["heart_rate"] == 72


def test_specials_print_as_names_never_as_numbers() -> None:
    code, out, _ = _decode("blood_pressure", "04 FF07 FF07 FE07 0008")

    value = json.loads(out)["value"]
    assert code == 0
    assert (value["systolic"], value["mean_arterial"], value["pulse_rate"]) == ("NaN", "+INF", "NRes")
    assert json.loads(out)["observations"] == []


@pytest.mark.parametrize(
    ("name", "hex_text", "line"),
    [
        (
            "blood_pressure",
            "00 78 00 50",
            "ble.blood_pressure: short: byte 3 (diastolic): 2 bytes needed, 1 left",
        ),
        (
            "plx_continuous",
            "00 62 00 46 00 FF",
            "ble.plx_continuous: long: byte 5 (trailing bytes): "
            "1 byte after the last field the flags announce",
        ),
        (
            "temperature",
            "02 72 01 00 FF E8 07 0D 01 08 00 00",
            "ble.temperature: invalid: byte 7 (timestamp.month): 1..12, or 0 for unknown, found 13",
        ),
        ("weight", "", "ble.weight: short: byte 0 (flags): 1 byte needed, 0 left"),
        (
            "temperature",
            "01 FD FF 7F 7F",
            "ble.temperature: 8310-5: 8.38861e+133 [degF] is beyond any measurement (magnitude over 10**9)",
        ),
        (
            "heart_rate",
            "06 4",
            "HEX: pairs of hexadecimal digits such as '1E 78 00' or 1e:78:00, found '06 4'",
        ),
        ("heart_rate", "zz", "HEX: pairs of hexadecimal digits such as '1E 78 00' or 1e:78:00, found 'zz'"),
    ],
)
def test_unusable_input_exits_2_with_one_line(name: str, hex_text: str, line: str) -> None:
    code, out, err = _decode(name, hex_text)

    assert (code, out) == (EXIT_INVALID, "")
    assert err == line + "\n"


def test_installed_command_runs_in_a_process() -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "careedge", "decode", "ble.glucose", "03 0100 E807 0315 071E 00 0500 5FB0 11"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    bad = subprocess.run(
        [sys.executable, "-m", "careedge", "decode", "ble.glucose", "02 0700 E807 0315 071E 00 5FB0 10"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert ok.returncode == 0, ok.stderr
    printed = json.loads(ok.stdout)
    assert printed["device_time"] == "2024-03-21T07:35:00"
    assert printed["observations"][0]["value"] == 5.3
    assert bad.returncode == EXIT_INVALID
    assert bad.stdout == ""
    assert bad.stderr == (
        "ble.glucose: invalid: byte 12 (concentration.sample_type): 1..10 in the low nibble, found 0\n"
    )
