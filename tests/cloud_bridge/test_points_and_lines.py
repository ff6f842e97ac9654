"""Point keys: exact millisecond timestamps and line protocol escaped by influxdb-client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from careedge_common.envelope import Envelope
from careedge_common.epoch import epoch_ms
from cloud_bridge.influx_sink import line_of
from cloud_bridge.points import VitalPoint, points_of


def test_epoch_ms_is_exact_for_every_millisecond() -> None:
    start = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    base = 1_772_366_400_000
    for offset in range(5000):
        assert epoch_ms(start + timedelta(milliseconds=offset, microseconds=999)) == base + offset


@pytest.mark.parametrize(
    ("sent", "expected_ms"),
    [
        ("2026-03-01T12:00:00.123Z", 1_772_366_400_123),
        ("2026-03-01T20:00:00.123999+08:00", 1_772_366_400_123),
        ("2026-03-01T06:30:00.000001-05:30", 1_772_366_400_000),
        ("1969-12-31T23:59:59.999500Z", -1),
    ],
)
def test_an_envelopes_stored_time_is_exact_in_any_offset(sent: str, expected_ms: int) -> None:
    envelope = Envelope.model_validate(
        {
            "id": "01JB6Z1W5Q8RDM8V6B3YF3XK0A",
            "seq": 1,
            "boot": 1,
            "site": "site-a",
            "gateway": "gw-1",
            "device": "kiosk-1",
            "type": "observation",
            "measured_at": sent,
            "received_at": sent,
            "obs": [{"code": "8867-4", "name": "Pulse", "value": 70, "unit": "/min"}],
        }
    )
    assert envelope.measured_at_ms == expected_ms == epoch_ms(envelope.measured_at)
    assert [point.time_ms for point in points_of(envelope)] == [expected_ms]
    assert envelope.model_dump(mode="json")["measured_at"] == envelope.measured_at.isoformat().replace(
        "+00:00", "Z"
    )


def test_line_has_sorted_escaped_tags_float_value_and_ms_time() -> None:
    point = VitalPoint("site-a", "gw 1", "kiosk,2=b", "res-1", "8480-6", "mm[Hg]", 120.0, 1_772_366_400_123)
    assert line_of(point) == (
        r"vitals,code=8480-6,device=kiosk\,2\=b,gateway=gw\ 1,site=site-a,subject=res-1,unit=mm[Hg] "
        "value=120.0 1772366400123"
    )


def test_unbound_reading_has_no_subject_tag() -> None:
    point = VitalPoint("site-a", "gw-1", "kiosk-1", None, "8310-5", "Cel", 37.25, 5)
    assert (
        line_of(point) == "vitals,code=8310-5,device=kiosk-1,gateway=gw-1,site=site-a,unit=Cel value=37.25 5"
    )
