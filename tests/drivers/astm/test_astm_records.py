"""E1394 building blocks: delimiters, escapes, fields, times, vocabulary and unit conversions."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from careedge_common.codes import GLUCOSE, SYSTOLIC, ObservationKind
from drivers.astm.conversions import to_observation
from drivers.astm.errors import AstmError, Position, Reason, quoted
from drivers.astm.records import Delimiters, Record
from drivers.astm.timestamps import parse_datetime
from drivers.astm.vocabulary import (
    HDL_CHOLESTEROL,
    LDL_CHOLESTEROL_CALCULATED,
    TOTAL_CHOLESTEROL,
    TRIGLYCERIDES,
    URINE_GLUCOSE,
    URINE_KETONES,
    URINE_LEUKOCYTES,
    URINE_NITRITE,
    URINE_PH,
    URINE_PROTEIN,
    URINE_SPECIFIC_GRAVITY,
    Analytes,
    find_test,
)
from drivers.units import UnitError

STANDARD = Delimiters(field="|", repeat="\\", component="^", escape="&")


def test_the_header_defines_the_delimiters() -> None:
    assert Delimiters.from_header("H|\\^&|||METER") == STANDARD
    assert Delimiters.from_header("H!@#$!!!X") == Delimiters(field="!", repeat="@", component="#", escape="$")


@pytest.mark.parametrize(
    ("header", "reason", "position"),
    [
        ("P|1||CH1", Reason.NO_HEADER, "P[1]-1 (record 1)"),
        ("H|\\^", Reason.BAD_DELIMITERS, "H[1]-2 (record 1)"),
        ("H|\\^^|", Reason.BAD_DELIMITERS, "H[1]-2 (record 1)"),
        ("H|A^&|", Reason.BAD_DELIMITERS, "H[1]-2 (record 1)"),
        ("H|\\^&X", Reason.BAD_DELIMITERS, "H[1]-2 (record 1)"),
    ],
)
def test_bad_headers_are_refused_with_position(header: str, reason: Reason, position: str) -> None:
    with pytest.raises(AstmError) as caught:
        Delimiters.from_header(header)
    assert caught.value.reason == reason
    assert str(caught.value.position) == position


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mg&S&dL", "mg^dL"),
        ("a&F&b&R&c&E&d", "a|b\\c&d"),
        ("&F&&S&", "|^"),
        ("x&Y&z", "x&Y&z"),
        ("&X0041&", "&X0041&"),
        ("broken&F", "broken&F"),
        ("a&&b", "a&&b"),
    ],
)
def test_escape_sequences_stand_for_delimiters_and_others_are_kept(text: str, expected: str) -> None:
    assert STANDARD.unescape(text) == expected


def test_record_fields_components_and_repeats() -> None:
    occurrences: dict[str, int] = {"R": 1}
    record = Record.parse("R|2|^^^GLU^1\\^^^TC| 6.2 |mmol&S&L", STANDARD, 7, occurrences)

    assert record.type == "R"
    assert record.position == Position("R", 2, 7)
    assert occurrences == {"R": 2}
    assert record.text(3, 4) == "GLU", "first repeat only"
    assert record.text(4) == "6.2"
    assert record.text(5) == "mmol^L"
    assert record.text(13) == ""
    assert record.text(3, 9) == ""


def test_positions_read_like_technicians_count() -> None:
    position = Position("R", 2, 6)

    assert str(position) == "R[2] (record 6)"
    assert str(position.at(4)) == "R[2]-4 (record 6)"
    assert str(position.at(3, 4)) == "R[2]-3.4 (record 6)"


def test_quoted_values_are_cut_short() -> None:
    assert quoted("NEG") == "'NEG'"
    assert quoted("x" * 20) == "'xxxxxxxxxxxxxxxx' (+4 characters)"


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("20250314093012", "Asia/Shanghai", "2025-03-14T01:30:12+00:00"),
        ("202503140930", "Asia/Shanghai", "2025-03-14T01:30:00+00:00"),
        ("20250701120000", "Europe/Berlin", "2025-07-01T10:00:00+00:00"),
        ("20251026023000", "Europe/Berlin", "2025-10-26T00:30:00+00:00"),
        ("20250330023000", "Europe/Berlin", "2025-03-30T01:30:00+00:00"),
    ],
)
def test_times_are_wall_clock_in_the_site_zone(text: str, zone: str, expected: str) -> None:
    assert parse_datetime(text, ZoneInfo(zone)).isoformat() == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("20250314", "YYYYMMDDHHMM"), ("2025031409301", "YYYYMMDDHHMM"), ("20250230120000", "calendar")],
)
def test_bad_times_say_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_datetime(text, ZoneInfo("UTC"))


@pytest.mark.parametrize(
    ("universal", "local", "analytes", "code"),
    [
        ("", "GLU", Analytes.BLOOD, GLUCOSE.code),
        ("", "glu", Analytes.URINE, URINE_GLUCOSE.code),
        ("", "TRG", Analytes.BLOOD, TRIGLYCERIDES.code),
        ("", "LDL", Analytes.BLOOD, LDL_CHOLESTEROL_CALCULATED.code),
        ("", "NIT", Analytes.URINE, URINE_NITRITE.code),
        ("2093-3", "", Analytes.URINE, TOTAL_CHOLESTEROL.code),
        ("14743-9", "XYZ", Analytes.BLOOD, GLUCOSE.code),
        ("8480-6", "", Analytes.BLOOD, SYSTOLIC.code),
    ],
)
def test_tests_are_found_by_loinc_or_by_the_devices_own_code(
    universal: str, local: str, analytes: Analytes, code: str
) -> None:
    test = find_test(universal, local, analytes)
    assert test is not None
    assert test.code == code


def test_an_unknown_code_finds_nothing() -> None:
    assert find_test("", "TC/HDL", Analytes.BLOOD) is None
    assert find_test("", "SG", Analytes.BLOOD) is None


@pytest.mark.parametrize(
    ("kind", "value", "unit", "canonical", "raw"),
    [
        (TOTAL_CHOLESTEROL, 187, "mg/dL", 4.84, (187, "mg/dL")),
        (HDL_CHOLESTEROL, 52, "mg/dl", 1.34, (52, "mg/dl")),
        (TRIGLYCERIDES, 143, "mg/dL", 1.61, (143, "mg/dL")),
        (TOTAL_CHOLESTEROL, 5.17, "mmol/L", 5.17, None),
        (GLUCOSE, 112, "mg/dL", 6.2, (112, "mg/dL")),
        (URINE_GLUCOSE, 100, "mg/dL", 5.6, (100, "mg/dL")),
        (URINE_KETONES, 40, "mg/dL", 3.9, (40, "mg/dL")),
        (URINE_PROTEIN, 30, "mg/dL", 0.3, (30, "mg/dL")),
        (URINE_PROTEIN, 0.3, "g/L", 0.3, None),
        (URINE_SPECIFIC_GRAVITY, 1.02, "", 1.02, None),
        (URINE_PH, 6.5, "pH", 6.5, (6.5, "pH")),
        (URINE_LEUKOCYTES, 70, "Leu/uL", 70, (70, "Leu/uL")),
    ],
)
def test_values_are_converted_to_the_canonical_unit_and_the_device_value_kept(
    kind: ObservationKind, value: float, unit: str, canonical: float, raw: tuple[float, str] | None
) -> None:
    observation = to_observation(kind, value, unit)

    assert observation.value == canonical
    assert observation.unit == kind.unit
    assert ((observation.raw.value, observation.raw.unit) if observation.raw else None) == raw


@pytest.mark.parametrize(("kind", "unit"), [(TOTAL_CHOLESTEROL, "kg"), (URINE_PROTEIN, ""), (GLUCOSE, "g/L")])
def test_a_unit_that_cannot_express_the_test_is_refused(kind: ObservationKind, unit: str) -> None:
    with pytest.raises(UnitError):
        to_observation(kind, 5, unit)
