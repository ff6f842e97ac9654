"""The residents roster: CSV and YAML, pseudonymised on load, errors by row without names or IDs."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from careedge_common.pseudonym import Pseudonymiser
from edge.residents import RosterError, load_roster

AUTHORITY = "SUNRISE_CARE"
WANG_ID, LI_ID = "11010519450101234X", "CH000123"
WANG, LI = "王秀英", "李建国"


@pytest.fixture
def pseudonymiser() -> Pseudonymiser:
    return Pseudonymiser(secrets.token_bytes(32))


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_csv_with_excel_bom_is_pseudonymised(tmp_path: Path, pseudonymiser: Pseudonymiser) -> None:
    path = _write(
        tmp_path,
        "residents.csv",
        f"resident_id,display_name\n{WANG_ID},{WANG}\n{LI_ID}, {LI} \n",
        "utf-8-sig",
    )
    roster = load_roster(path, pseudonymiser, AUTHORITY)
    assert len(roster) == 2
    assert roster.display_name(pseudonymiser.subject(WANG_ID, AUTHORITY)) == WANG
    assert roster.display_name(pseudonymiser.subject(LI_ID.lower(), AUTHORITY)) == LI
    assert pseudonymiser.subject(WANG_ID) not in roster, "the authority is part of the subject"
    assert WANG not in repr(roster)
    assert all(WANG_ID not in entry.subject and WANG not in repr(entry) for entry in roster)


@pytest.mark.parametrize(
    "text",
    [
        f"- {{resident_id: '{WANG_ID}', display_name: {WANG}}}\n"
        f"- {{resident_id: {LI_ID}, display_name: {LI}}}\n",
        f"residents:\n  - {{resident_id: '{WANG_ID}', display_name: {WANG}}}\n"
        f"  - {{resident_id: {LI_ID}, display_name: {LI}}}\n",
    ],
)
def test_yaml_list_or_residents_key(tmp_path: Path, pseudonymiser: Pseudonymiser, text: str) -> None:
    roster = load_roster(_write(tmp_path, "residents.yaml", text), pseudonymiser, AUTHORITY)
    assert {entry.display_name for entry in roster} == {WANG, LI}


@pytest.mark.parametrize(
    ("name", "text", "location", "reason"),
    [
        ("r.csv", f"resident_id,display_name,room\n{WANG_ID},{WANG},12\n", "row 1", "unknown column 'room'"),
        ("r.csv", f"resident_id,display_name\n{WANG_ID},\n", "row 2", "display_name: a value, found none"),
        ("r.csv", f"resident_id,display_name\n{WANG_ID},{WANG},extra\n", "row 2", "2 values, found more"),
        (
            "r.csv",
            f"resident_id,display_name\n{WANG_ID},{WANG}\n{LI_ID},{LI}\n{WANG_ID.lower()},{LI}\n",
            "row 4",
            "resident_id repeats the one in row 2",
        ),
        ("r.csv", "resident_id,display_name\n", "file", "at least one resident"),
        ("r.csv", f"resident_id,display_name\n{WANG_ID},{'长' * 41}\n", "row 2", "at most 40 characters"),
        ("r.yaml", "- {resident_id: 000123, display_name: x}\n", "entry 1", "quote it in YAML"),
        ("r.yaml", f"- {{resident_id: '{WANG_ID}', name: {WANG}}}\n", "entry 1", "unknown key 'name'"),
        ("r.yaml", f"- {{resident_id: '{WANG_ID}', display_name: \"王\\t秀英\"}}\n", "entry 1", "no control"),
        ("r.yaml", "people: []\n", "file", "a list of residents"),
        ("r.yaml", "- [1, 2\n", "line 2", "valid YAML"),
    ],
)
def test_errors_name_the_row_never_the_resident(
    tmp_path: Path, pseudonymiser: Pseudonymiser, name: str, text: str, location: str, reason: str
) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(RosterError) as info:
        load_roster(path, pseudonymiser, AUTHORITY)
    assert info.value.location == location
    assert reason in info.value.reason
    assert str(path) in str(info.value)
    for secret in (WANG_ID, WANG_ID.lower(), WANG, LI_ID, LI):
        assert secret not in str(info.value)


def test_unreadable_file(tmp_path: Path, pseudonymiser: Pseudonymiser) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"resident_id,display_name\n\xff\xfe,x\n")
    with pytest.raises(RosterError, match="a readable UTF-8 file"):
        load_roster(path, pseudonymiser, AUTHORITY)
    with pytest.raises(RosterError, match="FileNotFoundError"):
        load_roster(tmp_path / "missing.csv", pseudonymiser, AUTHORITY)
