"""Generated and loaded residents: plausible identifiers, clear errors, no patient data in repr."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest

from firmware_sim.kiosk.residents import (
    IdStyle,
    Resident,
    ResidentFileError,
    generate_residents,
    id_card_check_character,
    load_residents,
)


def test_id_card_check_character_matches_the_published_example() -> None:
    assert id_card_check_character("11010519491231002") == "X"


def test_generated_id_card_numbers_are_valid_and_agree_with_birth_date_and_sex() -> None:
    residents = generate_residents(200, random.Random(5))
    assert len({resident.resident_id for resident in residents}) == 200
    for resident in residents:
        number = resident.resident_id
        assert len(number) == 18
        assert number[:17].isdigit()
        assert number[17] == id_card_check_character(number[:17])
        assert number[6:14] == f"{resident.birth_date:%Y%m%d}"
        assert (int(number[16]) % 2 == 1) == (resident.sex == "M")
        assert resident.birth_date is not None
        assert 1928 <= resident.birth_date.year <= 1955
        assert resident.family_name
        assert resident.given_name


def test_care_home_numbers_and_reproducibility() -> None:
    first = generate_residents(10, random.Random(9), IdStyle.CARE_HOME)
    assert all(resident.resident_id.startswith("CH") and len(resident.resident_id) == 8 for resident in first)
    assert first == generate_residents(10, random.Random(9), IdStyle.CARE_HOME)


def test_repr_hides_names_and_numbers() -> None:
    resident = Resident("110105194503071234", "张", "秀英", date(1945, 3, 7), "F")
    assert "1101" not in repr(resident)
    assert "张" not in repr(resident)
    assert "1945" not in repr(resident)


def test_load_csv_roster(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "resident_id,family_name,given_name,birth_date,sex\nCH000001,欧阳,建国,1941-02-03,M\nCH000002,李,玉兰,,\n",
        encoding="utf-8",
    )
    residents = load_residents(roster)
    assert residents == [
        Resident("CH000001", "欧阳", "建国", date(1941, 2, 3), "M"),
        Resident("CH000002", "李", "玉兰", None, None),
    ]


def test_load_yaml_roster(tmp_path: Path) -> None:
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "residents:\n"
        "  - {resident_id: R1, family_name: 王, given_name: 秀英, birth_date: 1938-05-06, sex: F}\n",
        encoding="utf-8",
    )
    assert load_residents(roster) == [Resident("R1", "王", "秀英", date(1938, 5, 6), "F")]


@pytest.mark.parametrize(
    ("text", "location", "reason"),
    [
        ("resident_id,family_name,given_name\nR1,王,秀英\nR1,李,玉兰\n", "row 3", "repeats the one in row 2"),
        ("resident_id,family_name,given_name\nR1,王|X,秀英\n", "row 2", "HL7 delimiter"),
        ("resident_id,family_name\nR1,王\n", "row 2", "missing given_name"),
        ("resident_id,family_name,given_name,sex\nR1,王,秀英,X\n", "row 2", "sex must be M or F"),
        ("resident_id,family_name,given_name\n", "file", "no residents"),
    ],
)
def test_bad_csv_rosters_name_the_row_and_not_the_person(
    tmp_path: Path, text: str, location: str, reason: str
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(text, encoding="utf-8")
    with pytest.raises(ResidentFileError) as caught:
        load_residents(roster)
    assert caught.value.location == location
    assert reason in caught.value.reason
    assert "王" not in str(caught.value)


def test_bad_yaml_roster_names_the_line(tmp_path: Path) -> None:
    roster = tmp_path / "roster.yaml"
    roster.write_text("residents:\n  - resident_id: R1: oops\n", encoding="utf-8")
    with pytest.raises(ResidentFileError, match="line 2"):
        load_residents(roster)
