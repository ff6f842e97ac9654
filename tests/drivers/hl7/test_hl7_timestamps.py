from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from drivers.hl7.timestamps import parse_dtm

SHANGHAI = ZoneInfo("Asia/Shanghai")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20240315093000+0800", datetime(2024, 3, 15, 1, 30, tzinfo=UTC)),
        ("20240315093000-0500", datetime(2024, 3, 15, 14, 30, tzinfo=UTC)),
        # The hl7 library reads -0030 as +0030: the sign belongs to the minutes too.
        ("20240315093000-0030", datetime(2024, 3, 15, 10, 0, tzinfo=UTC)),
        ("20240315093000+0545", datetime(2024, 3, 15, 3, 45, tzinfo=UTC)),
        ("20240315093000.1234+0000", datetime(2024, 3, 15, 9, 30, 0, 123400, tzinfo=UTC)),
        ("202403150930+0000", datetime(2024, 3, 15, 9, 30, tzinfo=UTC)),
        ("2024031509+0000", datetime(2024, 3, 15, 9, tzinfo=UTC)),
        ("20240315+0000", datetime(2024, 3, 15, tzinfo=UTC)),
        ("202403", datetime(2024, 2, 29, 16, tzinfo=UTC)),
        ("2024", datetime(2023, 12, 31, 16, tzinfo=UTC)),
        ("20240315093000", datetime(2024, 3, 15, 1, 30, tzinfo=UTC)),
    ],
)
def test_reads_offsets_and_precisions(text: str, expected: datetime) -> None:
    parsed = parse_dtm(text, SHANGHAI)

    assert parsed == expected
    assert parsed.tzinfo is UTC


def test_naive_time_follows_the_site_zone_summer_and_winter() -> None:
    assert parse_dtm("20240715093000", AMSTERDAM) == datetime(2024, 7, 15, 7, 30, tzinfo=UTC)
    assert parse_dtm("20240115093000", AMSTERDAM) == datetime(2024, 1, 15, 8, 30, tzinfo=UTC)


def test_naive_time_in_the_repeated_hour_is_the_earlier_instant() -> None:
    # Clocks in Amsterdam went from 03:00 CEST back to 02:00 CET on 27 October 2024.
    assert parse_dtm("20241027023000", AMSTERDAM) == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2024-03-15T09:30:00",
        "20240315093000Z",
        "20240315xyz",
        "202403150",  # an odd digit count is not a precision HL7 knows
        "20240315093000.",
        "20240315093000.1234567",
        "20240315093000+08",
        "20240315093000+1500",
        "20240315093000+0860",
        "20241315093000",
        "20240230093000",
        "20240315253000",
    ],
)
def test_refuses_what_is_not_a_dtm(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_dtm(text, SHANGHAI)
