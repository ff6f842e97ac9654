"""Which time a BLE measurement gets: the rules of ``drivers.ble_gatt.clock`` on plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from drivers.ble_gatt.clock import (
    UNCHECKED,
    ClockCheck,
    RecordClock,
    clock_offset,
    live_measured_at,
    record_measured_at,
)

ZONE = ZoneInfo("Asia/Shanghai")
TOLERANCE = timedelta(seconds=60)
RECEIVED = datetime(2025, 3, 14, 2, 0, 0, tzinfo=UTC)
"""10:00 in Shanghai."""
LOCAL_NOW = datetime(2025, 3, 14, 10, 0, 0)
FIVE_HOURS = timedelta(hours=5)


def local(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, 14, hour, minute)


def aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=ZONE)


def test_no_stamp_is_the_receive_time() -> None:
    assert live_measured_at(None, RECEIVED, ZONE, UNCHECKED, TOLERANCE) == RECEIVED
    assert record_measured_at(None, 7, RECEIVED, ZONE, UNCHECKED, None, TOLERANCE) == RECEIVED


def test_unchecked_clock_is_trusted_unless_it_is_ahead_of_the_gateway() -> None:
    assert live_measured_at(local(9, 58), RECEIVED, ZONE, UNCHECKED, TOLERANCE) == aware(local(9, 58))
    assert live_measured_at(local(10, 1), RECEIVED, ZONE, UNCHECKED, TOLERANCE) == aware(local(10, 1))
    assert live_measured_at(local(12), RECEIVED, ZONE, UNCHECKED, TOLERANCE) == RECEIVED


def test_offset_within_tolerance_is_not_applied() -> None:
    check = ClockCheck(timedelta(seconds=-40))
    assert live_measured_at(local(9, 58), RECEIVED, ZONE, check, TOLERANCE) == aware(local(9, 58))


def test_clock_known_wrong_and_not_corrected_is_subtracted_from_every_stamp() -> None:
    check = ClockCheck(FIVE_HOURS)
    assert live_measured_at(local(14, 58), RECEIVED, ZONE, check, TOLERANCE) == aware(local(9, 58))
    assert record_measured_at(local(13), 3, RECEIVED, ZONE, check, None, TOLERANCE) == aware(local(8))


def test_after_a_correction_a_fresh_stamp_is_kept_and_an_old_one_corrected() -> None:
    check = ClockCheck(timedelta(hours=-5), corrected_at=LOCAL_NOW)
    fresh = local(10, 0)
    stored_before = local(4, 30)
    assert live_measured_at(fresh, RECEIVED, ZONE, check, TOLERANCE) == aware(fresh)
    assert live_measured_at(stored_before, RECEIVED, ZONE, check, TOLERANCE) == aware(local(9, 30))


def test_clock_ahead_and_measurement_shortly_before_is_the_documented_ambiguity() -> None:
    """Ahead by 5 h, measured 4 h 59 min before connecting: the stamp looks fresh and is kept."""
    check = ClockCheck(FIVE_HOURS, corrected_at=LOCAL_NOW)
    stamp = local(5, 1) + FIVE_HOURS
    assert live_measured_at(stamp, RECEIVED, ZONE, check, TOLERANCE) == aware(stamp)


def test_records_up_to_the_remembered_sequence_number_were_stamped_on_the_wrong_clock() -> None:
    corrected = ClockCheck(timedelta(0))
    remembered = RecordClock(FIVE_HOURS, through_sequence=12)
    assert record_measured_at(local(13), 12, RECEIVED, ZONE, corrected, remembered, TOLERANCE) == aware(
        local(8)
    )
    assert record_measured_at(local(9), 13, RECEIVED, ZONE, corrected, remembered, TOLERANCE) == aware(
        local(9)
    )


def test_records_after_a_correction_in_the_same_connection_are_on_the_new_clock() -> None:
    check = ClockCheck(FIVE_HOURS, corrected_at=LOCAL_NOW)
    assert record_measured_at(local(9, 59), 20, RECEIVED, ZONE, check, None, TOLERANCE) == aware(local(9, 59))


def test_offset_is_whole_seconds() -> None:
    assert clock_offset(datetime(2025, 1, 1, 5, 0, 0, 600_000), datetime(2025, 1, 1, 0, 0, 0)) == timedelta(
        hours=5, seconds=1
    )
