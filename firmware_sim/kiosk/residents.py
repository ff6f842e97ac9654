"""Who stands at the simulated kiosk: generated residents or a roster file.

Identifiers and names are synthetic but shaped like real ones (18-digit resident ID-card numbers with
a valid GB 11643 check digit, or care-home numbers; Chinese names in UTF-8), so the edge's parsing
and pseudonymisation see what a site would send. A resident's repr never shows the name or number.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml

Sex = Literal["M", "F"]

HL7_RESERVED_CHARACTERS = frozenset("|^~\\&")
"""Default HL7 delimiters and escape character: a roster value holding one would split a field."""

ID_CARD_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CARD_CHECK_CHARACTERS = "10X98765432"
"""GB 11643-1999: weighted sum of the first 17 digits modulo 11 indexes this string."""

ID_CARD_REGIONS = ("110105", "310115", "440304", "320106", "330106", "510107", "420106", "370102")
"""County-level administrative codes (Beijing Chaoyang, Shanghai Pudong, Shenzhen Futian, ...)."""

OLDEST_BIRTH_YEAR = 1928
YOUNGEST_BIRTH_YEAR = 1955
"""Care-home residents are roughly 70 to 98 years old."""

CARE_HOME_NUMBER_PREFIX = "CH"
CARE_HOME_NUMBER_DIGITS = 6

SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱",
    "胡", "郭", "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "欧阳", "司马",
)  # fmt: skip
FEMALE_GIVEN_NAMES = (
    "秀英", "桂英", "玉兰", "秀兰", "凤英", "淑珍", "桂兰", "玉珍", "素珍",
    "秀珍", "玉梅", "凤兰", "淑英", "桂芳", "翠花", "金凤", "丽华", "美兰",
)  # fmt: skip
MALE_GIVEN_NAMES = (
    "建国", "国华", "志强", "德明", "文华", "永福", "德胜", "建华", "国强",
    "福生", "长富", "振华", "国庆", "学文", "宝山", "春生", "守仁", "树林",
)  # fmt: skip


class IdStyle(StrEnum):
    ID_CARD = "id-card"
    CARE_HOME = "care-home"


@dataclass(frozen=True, slots=True)
class Resident:
    """One person; ``family_name``/``given_name`` become PID-5 components, ``resident_id`` PID-3.1."""

    resident_id: str = field(repr=False)
    family_name: str = field(repr=False)
    given_name: str = field(repr=False)
    birth_date: date | None = field(default=None, repr=False)
    sex: Sex | None = None

    def __post_init__(self) -> None:
        for name in ("resident_id", "family_name", "given_name"):
            problem = _text_problem(getattr(self, name))
            if problem:
                raise ValueError(f"resident {name}: {problem}")


class ResidentFileError(Exception):
    """A roster file that cannot be used; ``location`` is the row or list index (1-based)."""

    def __init__(self, path: Path, location: str, reason: str) -> None:
        super().__init__(f"{path}: {location}: {reason}")
        self.path = path
        self.location = location
        self.reason = reason


def id_card_check_character(first_17_digits: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first_17_digits, ID_CARD_WEIGHTS, strict=True))
    return ID_CARD_CHECK_CHARACTERS[total % 11]


def generate_residents(count: int, rng: random.Random, id_style: IdStyle = IdStyle.ID_CARD) -> list[Resident]:
    """``count`` residents with distinct identifiers, the same for the same ``rng`` state."""
    if count < 1:
        raise ValueError("at least one resident is needed")
    residents: list[Resident] = []
    seen: set[str] = set()
    while len(residents) < count:
        resident = _generate_resident(rng, id_style)
        if resident.resident_id not in seen:
            seen.add(resident.resident_id)
            residents.append(resident)
    return residents


def load_residents(path: Path) -> list[Resident]:
    """Read a roster: CSV with a header row, or YAML (a list, or a mapping with ``residents:``).

    Columns/keys: ``resident_id``, ``family_name``, ``given_name``, optional ``birth_date``
    (YYYY-MM-DD) and ``sex`` (M/F). Raises ``ResidentFileError`` naming the offending row; the
    message never repeats a resident's name or number.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ResidentFileError(path, "file", f"cannot be read as UTF-8 text ({type(exc).__name__})") from exc
    if path.suffix.lower() == ".csv":
        rows: list[tuple[str, Any]] = [
            (f"row {number}", row) for number, row in enumerate(csv.DictReader(text.splitlines()), start=2)
        ]
    else:
        rows = [(f"entry {number}", row) for number, row in enumerate(_yaml_entries(path, text), start=1)]
    residents = [_resident_from_row(path, location, row) for location, row in rows]
    if not residents:
        raise ResidentFileError(path, "file", "no residents listed")
    _reject_duplicates(path, rows, residents)
    return residents


def _generate_resident(rng: random.Random, id_style: IdStyle) -> Resident:
    sex: Sex = rng.choice(("M", "F"))
    birth_date = date(
        rng.randint(OLDEST_BIRTH_YEAR, YOUNGEST_BIRTH_YEAR), rng.randint(1, 12), rng.randint(1, 28)
    )
    if id_style is IdStyle.ID_CARD:
        sequence = rng.randrange(0, 500) * 2 + (1 if sex == "M" else 0)
        first_17 = f"{rng.choice(ID_CARD_REGIONS)}{birth_date:%Y%m%d}{sequence:03d}"
        resident_id = first_17 + id_card_check_character(first_17)
    else:
        number = rng.randrange(10**CARE_HOME_NUMBER_DIGITS)
        resident_id = f"{CARE_HOME_NUMBER_PREFIX}{number:0{CARE_HOME_NUMBER_DIGITS}d}"
    given_names = MALE_GIVEN_NAMES if sex == "M" else FEMALE_GIVEN_NAMES
    return Resident(resident_id, rng.choice(SURNAMES), rng.choice(given_names), birth_date, sex)


def _yaml_entries(path: Path, text: str) -> list[Any]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        raise ResidentFileError(path, where, "invalid YAML") from exc
    if isinstance(document, Mapping):
        document = document.get("residents")
    if not isinstance(document, list):
        raise ResidentFileError(path, "file", "expected a list of residents or a 'residents:' list")
    return document


def _resident_from_row(path: Path, location: str, row: Any) -> Resident:
    if not isinstance(row, Mapping):
        raise ResidentFileError(path, location, "expected a mapping of resident fields")
    values = {str(key): value for key, value in row.items() if key is not None}
    missing = [key for key in ("resident_id", "family_name", "given_name") if not values.get(key)]
    if missing:
        raise ResidentFileError(path, location, f"missing {', '.join(missing)}")
    try:
        return Resident(
            resident_id=str(values["resident_id"]).strip(),
            family_name=str(values["family_name"]).strip(),
            given_name=str(values["given_name"]).strip(),
            birth_date=_birth_date(values.get("birth_date")),
            sex=_sex(values.get("sex")),
        )
    except ValueError as exc:
        raise ResidentFileError(path, location, str(exc)) from exc


def _birth_date(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError("birth_date must be YYYY-MM-DD") from None


def _sex(value: object) -> Sex | None:
    if value is None or value == "":
        return None
    text = str(value).strip().upper()
    if text == "M":
        return "M"
    if text == "F":
        return "F"
    raise ValueError("sex must be M or F")


def _text_problem(value: str) -> str | None:
    if not value:
        return "must not be empty"
    if any(character in HL7_RESERVED_CHARACTERS for character in value):
        return "contains an HL7 delimiter (| ^ ~ \\ &)"
    if any(ord(character) < 0x20 for character in value):
        return "contains a control character"
    return None


def _reject_duplicates(path: Path, rows: Iterable[tuple[str, Any]], residents: list[Resident]) -> None:
    first_seen: dict[str, str] = {}
    for (location, _row), resident in zip(rows, residents, strict=True):
        earlier = first_seen.setdefault(resident.resident_id, location)
        if earlier != location:
            raise ResidentFileError(path, location, f"resident_id repeats the one in {earlier}")
