"""Data-driven ASTM cases (Telegraf style): ``testcases/<case>/transmission.astm`` (what an analyzer
sent, ENQ to EOT, or E1394 records one per line) with either ``expected.json`` (what
``careedge decode astm`` prints) or ``expected_error.txt`` (reason code, then the position).
Optional: ``timezone.txt`` (site zone, default UTC), ``analytes.txt`` (default blood), and
``patient_data.txt``: identifiers and names the input holds and no output may show.

Shaped on real analyzers: a glucose meter's memory upload (mg/dL, a control result, an
out-of-range ``HI``), a Cholestech LDX style lipid panel, URIT and Clinitek style urine strip readers.
"""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from drivers.astm.capture import describe_capture
from drivers.astm.errors import AstmError
from drivers.astm.vocabulary import Analytes

CASES = Path(__file__).parent / "testcases"
SUCCESS = sorted(path.parent.name for path in CASES.glob("*/expected.json"))
FAILURE = sorted(path.parent.name for path in CASES.glob("*/expected_error.txt"))


def _load(case: str) -> tuple[bytes, ZoneInfo, Analytes]:
    folder = CASES / case
    zone_file, analytes_file = folder / "timezone.txt", folder / "analytes.txt"
    zone = ZoneInfo(zone_file.read_text().strip()) if zone_file.exists() else ZoneInfo("UTC")
    analytes = Analytes(analytes_file.read_text().strip()) if analytes_file.exists() else Analytes.BLOOD
    return (folder / "transmission.astm").read_bytes(), zone, analytes


def _patient_data(case: str, data: bytes) -> list[str]:
    listed = CASES / case / "patient_data.txt"
    values = listed.read_text(encoding="utf-8").split() if listed.exists() else []
    for value in values:
        assert value.encode("utf-8") in data, (
            f"{case}: patient_data.txt names {value!r}, absent from the input"
        )
    return values


def test_every_case_has_one_expectation() -> None:
    folders = sorted(path.name for path in CASES.iterdir() if path.is_dir())
    assert folders == sorted(SUCCESS + FAILURE)
    assert len(SUCCESS) >= 15
    assert len(FAILURE) >= 4


@pytest.mark.parametrize("case", SUCCESS)
def test_transmission_decodes_as_expected(case: str) -> None:
    data, zone, analytes = _load(case)
    expected = json.loads((CASES / case / "expected.json").read_text(encoding="utf-8"))

    actual = describe_capture(data, timezone=zone, analytes=analytes)

    # Compared as canonical JSON so that 7 and 7.0 differ, as they do on the wire.
    assert json.dumps(actual, sort_keys=True) == json.dumps(expected, sort_keys=True), json.dumps(
        actual, indent=1, ensure_ascii=False
    )
    text = json.dumps(actual, ensure_ascii=False)
    for value in _patient_data(case, data):
        assert value not in text


@pytest.mark.parametrize("case", FAILURE)
def test_transmission_is_refused_with_reason_and_position(case: str) -> None:
    data, zone, analytes = _load(case)
    reason, position = (CASES / case / "expected_error.txt").read_text().splitlines()

    with pytest.raises(AstmError) as caught:
        describe_capture(data, timezone=zone, analytes=analytes)

    assert caught.value.reason == reason
    assert str(caught.value.position) == position
    assert str(caught.value).startswith(f"{reason}: {position}: ")
    for value in _patient_data(case, data):
        assert value not in str(caught.value)
