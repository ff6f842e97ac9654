"""Data-driven ORU^R01 cases (Telegraf style): ``testcases/<case>/message.hl7`` with either
``expected.json`` (what ``careedge decode hl7`` prints) or ``expected_error.txt`` (reason code, then
the position when one is to blame). An optional ``timezone.txt`` names the site zone (default UTC).

Captures from devices keep their \\r segment separators; hand-written cases use \\n, as people do.
"""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import hl7
import pytest

from drivers.hl7.errors import Hl7Error
from drivers.hl7.oru import describe, parse_oru

CASES = Path(__file__).parent / "testcases"
SUCCESS = sorted(path.parent.name for path in CASES.glob("*/expected.json"))
FAILURE = sorted(path.parent.name for path in CASES.glob("*/expected_error.txt"))


def _load(case: str) -> tuple[bytes, ZoneInfo]:
    folder = CASES / case
    zone_file = folder / "timezone.txt"
    zone = ZoneInfo(zone_file.read_text().strip()) if zone_file.exists() else ZoneInfo("UTC")
    return (folder / "message.hl7").read_bytes(), zone


def _patient_data(data: bytes) -> list[str]:
    """PID-3.1 and the PID-5 name parts, read with the hl7 library independently of the codec."""
    for codec in ("utf-8", "gb18030"):
        try:
            text = data.decode(codec).replace("\r\n", "\r").replace("\n", "\r")
            break
        except UnicodeDecodeError:
            continue
    if not text.startswith("MSH") or "\rPID" not in text:
        return []
    pid = hl7.parse(text).segment("PID")
    name = str(pid(5)) if len(pid) > 5 else ""
    values = [str(pid.extract_field(1, 3, 1, 1, 1)), *name.split("^")]
    return [value for value in values if value]


def test_every_case_has_one_expectation() -> None:
    folders = sorted(path.name for path in CASES.iterdir() if path.is_dir())
    assert folders == sorted(SUCCESS + FAILURE)
    assert len(SUCCESS) >= 10
    assert len(FAILURE) >= 10


@pytest.mark.parametrize("case", SUCCESS)
def test_message_decodes_as_expected(case: str) -> None:
    data, zone = _load(case)
    expected = json.loads((CASES / case / "expected.json").read_text())

    message = parse_oru(data, timezone=zone, pseudonymiser=None)
    actual = describe(message)

    # Compared as canonical JSON so that 7 and 7.0 differ, as they do on the wire.
    assert json.dumps(actual, sort_keys=True) == json.dumps(expected, sort_keys=True), json.dumps(
        actual, indent=1
    )
    text = json.dumps(actual, ensure_ascii=False) + repr(message)
    for value in _patient_data(data):
        assert value not in text


@pytest.mark.parametrize("case", FAILURE)
def test_message_is_refused_with_reason_and_position(case: str) -> None:
    data, zone = _load(case)
    expected = (CASES / case / "expected_error.txt").read_text().split()

    with pytest.raises(Hl7Error) as caught:
        parse_oru(data, timezone=zone, pseudonymiser=None)

    error = caught.value
    assert error.reason == expected[0]
    assert str(error).startswith(f"{expected[0]}: ")
    if len(expected) > 1:
        assert str(error.position) == expected[1]
        assert f": {expected[1]}: " in str(error)
    else:
        assert error.position is None
    for value in _patient_data(data):
        assert value not in str(error)
        assert value not in repr(error.header)
