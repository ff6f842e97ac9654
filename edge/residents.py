"""The kiosk's residents roster: which pseudonymous subjects may start a session, and their names.

Technicians write the roster (CSV with a header row, or YAML: a list or ``residents:``) with two
columns, ``resident_id`` (the value on the resident's ID card or QR code) and ``display_name``
(what the kiosk page shows, e.g. "王秀英" or "王奶奶"). Loading pseudonymises every ID at once and
keeps only subject -> display name in memory: the ID is never kept, logged or published, and the
name is used only by the kiosk page and the edge's local staff API. Errors name the file and the
row, never a name or an ID. Edit the file and restart the edge to change the roster.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from careedge_common.pseudonym import Pseudonymiser

COLUMNS = ("resident_id", "display_name")
MAX_ID_CHARS = 64
MAX_NAME_CHARS = 40
"""Room for a full name and an honorific on one line of the page's large type."""


class RosterError(Exception):
    """The roster cannot be used; ``location`` is ``row N`` (CSV, header is row 1) or ``entry N``."""

    def __init__(self, path: Path, location: str, reason: str) -> None:
        super().__init__(f"{path}: {location}: {reason}")
        self.path = path
        self.location = location
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RosterEntry:
    subject: str
    display_name: str = field(repr=False)


class Roster:
    def __init__(self, entries: Mapping[str, str]) -> None:
        """``entries``: subject -> display name."""
        self._names = dict(entries)

    def display_name(self, subject: str) -> str | None:
        return self._names.get(subject)

    def __contains__(self, subject: object) -> bool:
        return subject in self._names

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[RosterEntry]:
        return (RosterEntry(subject, name) for subject, name in self._names.items())

    def __repr__(self) -> str:
        return f"Roster({len(self._names)} residents)"


EMPTY_ROSTER = Roster({})


def load_roster(path: Path, pseudonymiser: Pseudonymiser, authority: str) -> Roster:
    """Read and pseudonymise a roster; ``authority`` as in ``KioskConfig.identifier_authority``.

    Raises ``RosterError`` for an unreadable file, a missing or unknown column, an empty or
    over-long value, a control character, an ID written as a YAML number, the same resident twice,
    or no resident at all.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(path, "file", f"a readable UTF-8 file ({type(exc).__name__})") from exc
    rows = _csv_rows(path, text) if path.suffix.lower() == ".csv" else _yaml_rows(path, text)
    names: dict[str, str] = {}
    first_seen: dict[str, str] = {}
    for location, row in rows:
        resident_id, display_name = _values(path, location, row)
        subject = pseudonymiser.subject(resident_id, authority)
        earlier = first_seen.setdefault(subject, location)
        if earlier != location:
            raise RosterError(path, location, f"resident_id repeats the one in {earlier}")
        names[subject] = display_name
    if not names:
        raise RosterError(path, "file", "at least one resident")
    return Roster(names)


def _csv_rows(path: Path, text: str) -> list[tuple[str, Any]]:
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise RosterError(path, "row 1", f"columns {', '.join(COLUMNS)}, found unknown column {unknown[0]!r}")
    return [(f"row {number}", row) for number, row in enumerate(reader, start=2)]


def _yaml_rows(path: Path, text: str) -> list[tuple[str, Any]]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RosterError(path, f"line {mark.line + 1}" if mark else "file", "valid YAML") from exc
    if isinstance(document, Mapping) and set(document) == {"residents"}:
        document = document["residents"]
    if not isinstance(document, list):
        raise RosterError(path, "file", "a list of residents, or a mapping with only 'residents:'")
    return [(f"entry {number}", row) for number, row in enumerate(document, start=1)]


def _values(path: Path, location: str, row: Any) -> tuple[str, str]:
    if not isinstance(row, Mapping):
        raise RosterError(path, location, "a mapping with resident_id and display_name")
    if None in row:
        raise RosterError(path, location, f"{len(COLUMNS)} values, found more")
    unknown = [str(key) for key in row if key not in COLUMNS]
    if unknown:
        raise RosterError(path, location, f"keys {', '.join(COLUMNS)}, found unknown key {unknown[0]!r}")
    values: list[str] = []
    for column, limit in zip(COLUMNS, (MAX_ID_CHARS, MAX_NAME_CHARS), strict=True):
        value = row.get(column)
        if value is not None and not isinstance(value, str):
            raise RosterError(
                path, location, f"{column} as text (quote it in YAML: a number loses leading zeros)"
            )
        value = (value or "").strip()
        if not value:
            raise RosterError(path, location, f"{column}: a value, found none")
        if len(value) > limit:
            raise RosterError(path, location, f"{column}: at most {limit} characters")
        if any(ord(character) < 0x20 or ord(character) == 0x7F for character in value):
            raise RosterError(path, location, f"{column}: no control characters")
        values.append(value)
    return values[0], values[1]
