"""Point keys: exact millisecond timestamps and line protocol escaped by influxdb-client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cloud_bridge.influx_sink import line_of
from cloud_bridge.points import VitalPoint, epoch_ms


def test_epoch_ms_is_exact_for_every_millisecond() -> None:
    start = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    base = 1_772_366_400_000
    for offset in range(5000):
        assert epoch_ms(start + timedelta(milliseconds=offset, microseconds=999)) == base + offset


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
