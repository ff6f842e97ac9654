"""Data-driven characteristic vectors (Telegraf style), worked out by hand from the Bluetooth SIG
specifications: ``testcases/<characteristic>/<case>/payload.hex`` names the specification section
in its comments and explains every byte (``#`` starts a comment). Beside it, either
``expected.json`` (what ``careedge decode ble.<characteristic>`` prints: the decoded value, the
device time and the observations) or ``expected_error.txt`` (the one-line error). A success case
re-encodes to its own bytes, or to ``reencoded.hex`` where the payload sets reserved bits.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drivers.ble.describe import describe
from drivers.ble.errors import BleDecodeError
from drivers.ble.registry import CHARACTERISTICS

CASES = Path(__file__).parent / "testcases"
SUCCESS = sorted(str(path.parent.relative_to(CASES)) for path in CASES.glob("*/*/expected.json"))
FAILURE = sorted(str(path.parent.relative_to(CASES)) for path in CASES.glob("*/*/expected_error.txt"))
CITED_SOURCES = ("GATT Specification Supplement", "WSS v1.0")


def read_hex(path: Path) -> bytes:
    """The bytes of a ``.hex`` file: hex pairs, anything after ``#`` on a line is a comment."""
    return bytes.fromhex(" ".join(line.split("#", 1)[0] for line in path.read_text().splitlines()))


def test_every_characteristic_has_cases_and_each_case_one_expectation() -> None:
    folders = sorted(str(path.relative_to(CASES)) for path in CASES.glob("*/*") if path.is_dir())
    assert folders == sorted(SUCCESS + FAILURE)
    assert {case.split("/")[0] for case in SUCCESS} == set(CHARACTERISTICS)
    assert {case.split("/")[0] for case in FAILURE} == set(CHARACTERISTICS)
    for folder in folders:
        comments = (CASES / folder / "payload.hex").read_text()
        assert any(source in comments for source in CITED_SOURCES), f"{folder}: cite the specification"


@pytest.mark.parametrize("case", SUCCESS)
def test_vector_decodes_as_worked_out(case: str) -> None:
    characteristic = CHARACTERISTICS[case.split("/")[0]]
    data = read_hex(CASES / case / "payload.hex")
    expected = json.loads((CASES / case / "expected.json").read_text())

    value = characteristic.decode(data)

    # Compared as canonical JSON so that 7 and 7.0 differ, as they do on the wire.
    actual = describe(characteristic, value)
    assert json.dumps(actual, sort_keys=True) == json.dumps(expected, sort_keys=True), json.dumps(
        actual, indent=1
    )


@pytest.mark.parametrize("case", SUCCESS)
def test_vector_re_encodes_to_the_same_bytes(case: str) -> None:
    characteristic = CHARACTERISTICS[case.split("/")[0]]
    data = read_hex(CASES / case / "payload.hex")
    reencoded = CASES / case / "reencoded.hex"

    value = characteristic.decode(data)

    assert characteristic.encode(value) == (read_hex(reencoded) if reencoded.exists() else data)
    assert characteristic.decode(characteristic.encode(value)) == value


@pytest.mark.parametrize("case", FAILURE)
def test_vector_is_refused_naming_offset_and_field(case: str) -> None:
    characteristic = CHARACTERISTICS[case.split("/")[0]]
    data = read_hex(CASES / case / "payload.hex")
    expected = (CASES / case / "expected_error.txt").read_text().strip()

    with pytest.raises(BleDecodeError) as caught:
        characteristic.decode(data)

    error = caught.value
    assert str(error) == expected
    assert str(error).startswith(f"{error.reason}: byte {error.offset} ({error.field}): ")
    assert 0 <= error.offset <= len(data)
