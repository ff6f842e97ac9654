"""FHIR search parameters of ``GET /fhir/Observation`` turned into a ``ReadingFilter``.

- ``subject``: ``Patient/{id}`` or the bare pseudonymous ID.
- ``code``: comma-separated tokens, each ``http://loinc.org|CODE`` or ``CODE``; ``85354-9`` (the
  blood pressure panel) selects systolic and diastolic.
- ``date`` (repeatable, all must hold): prefix ``eq`` (default), ``ge``, ``gt``, ``le`` or ``lt``
  and a date (``2026-03-02``, a UTC day) or a date-time with an offset. As FHIR says, a value
  stands for the whole range it names (a day, or one millisecond), and ``eq`` means within it.

Raises ``SearchError`` naming the parameter and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from cloud_bridge.fhir_export import BLOOD_PRESSURE_PANEL, BLOOD_PRESSURE_PARTS, LOINC
from cloud_bridge.reading_queries import ReadingFilter

DATE_PREFIXES = ("eq", "ge", "gt", "le", "lt")
TICK = timedelta(milliseconds=1)
"""The store's resolution: a date-time names the millisecond it falls in."""
SUBJECT = re.compile(r"^(Patient/)?(?P<id>[A-Za-z0-9._-]{1,64})$")
CODE = re.compile(r"^[0-9]{1,7}-[0-9]$")


class SearchError(ValueError):
    pass


def subject_of(value: str) -> str:
    match = SUBJECT.match(value)
    if match is None:
        raise SearchError(f"subject: Patient/ID or a pseudonymous ID, found {value!r}")
    return match["id"]


def codes_of(value: str) -> tuple[str, ...]:
    found: list[str] = []
    for token in value.split(","):
        system, _, code = token.rpartition("|")
        if system not in ("", LOINC) or not CODE.match(code):
            raise SearchError(f"code: LOINC codes as CODE or {LOINC}|CODE, found {token!r}")
        found.extend(BLOOD_PRESSURE_PARTS if code == BLOOD_PRESSURE_PANEL else (code,))
    return tuple(dict.fromkeys(found))


def _range(value: str) -> tuple[datetime, datetime]:
    """The half-open UTC range a date or date-time names."""
    try:
        if len(value) == len("2026-03-02"):
            start = datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
            return start, start + timedelta(days=1)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise SearchError(f"date: a date or an RFC 3339 date-time, found {value!r}") from None
    if moment.tzinfo is None:
        raise SearchError(f"date: a date-time with an offset (e.g. 2026-03-02T08:00:00Z), found {value!r}")
    moment = moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)
    return moment, moment + TICK


def with_dates(where: ReadingFilter, values: Sequence[str]) -> ReadingFilter:
    since, until = where.since, where.until
    for value in values:
        prefix, rest = (value[:2], value[2:]) if value[:2] in DATE_PREFIXES else ("eq", value)
        start, end = _range(rest)
        lower = {"eq": start, "ge": start, "gt": end}.get(prefix)
        upper = {"eq": end - TICK, "le": end - TICK, "lt": start - TICK}.get(prefix)
        if lower is not None:
            since = lower if since is None else max(since, lower)
        if upper is not None:
            until = upper if until is None else min(until, upper)
    return replace(where, since=since, until=until)
