"""Pure parts of the cabinet workflows: today's doses from schedules, schedule checks, stock flags,
and the cloud's dispense command as the edge reads it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from careedge_common.config_cabinet import CabinetWorkflowSettings, DoseSchedule
from edge.cabinet_commands import DispenseCommand
from edge.dose_schedule import schedule_problems, started_doses
from edge.stock import stock_flags

SHANGHAI = ZoneInfo("Asia/Shanghai")
SUBJECT = "s-" + "e" * 32
COMMAND = {
    "command_id": "c-77",
    "subject": SUBJECT,
    "cabinet": "cab-1",
    "slot": 3,
    "window_start": "2026-05-02T07:30:00+08:00",
    "window_end": "2026-05-02T09:00:00+08:00",
}
SCHEDULE = DoseSchedule.model_validate(
    {
        "id": "metformin",
        "subject": SUBJECT,
        "cabinet": "cab-1",
        "slot": 4,
        "doses": 2,
        "windows": [{"start": "07:30", "end": "09:00"}, {"start": "18:00", "end": "19:30"}],
    }
)


def test_doses_appear_once_their_window_has_begun_in_site_time() -> None:
    assert started_doses([SCHEDULE], datetime(2026, 5, 1, 23, 29, tzinfo=UTC), SHANGHAI) == []
    (morning,) = started_doses([SCHEDULE], datetime(2026, 5, 1, 23, 30, tzinfo=UTC), SHANGHAI)
    assert morning.dose_id == "metformin:2026-05-02:0730"
    assert (morning.cabinet, morning.slot, morning.doses, morning.subject) == ("cab-1", 4, 2, SUBJECT)
    assert morning.window_start == datetime(2026, 5, 2, 7, 30, tzinfo=SHANGHAI)
    assert morning.window_end == datetime(2026, 5, 2, 9, 0, tzinfo=SHANGHAI)
    both = started_doses([SCHEDULE], datetime(2026, 5, 2, 12, 0, tzinfo=UTC), SHANGHAI)
    assert [dose.dose_id for dose in both] == ["metformin:2026-05-02:0730", "metformin:2026-05-02:1800"]


def test_window_must_end_after_it_starts() -> None:
    with pytest.raises(ValidationError, match="end after start"):
        DoseSchedule.model_validate(
            {**SCHEDULE.model_dump(), "windows": [{"start": "09:00", "end": "08:00"}]}
        )


def test_schedules_must_name_a_cabinet_and_slot_this_gateway_has() -> None:
    other = SCHEDULE.model_copy(update={"cabinet": "cab-9"})
    too_far = SCHEDULE.model_copy(update={"slot": 9})
    assert schedule_problems([SCHEDULE, other, too_far], {"cab-1": 8}) == [
        "gateway.cabinet.schedules[1].cabinet: a modbus_cabinet device (cab-1), found 'cab-9'",
        "gateway.cabinet.schedules[2].slot: 1 to 8 on cabinet cab-1, found 9",
    ]


@pytest.mark.parametrize(
    ("count", "expiry", "flags"),
    [
        (20, None, []),
        (7, None, ["near_empty"]),
        (0, None, ["empty"]),
        (20, date(2026, 7, 1), ["near_expiry"]),
        (20, date(2026, 7, 2), []),
        (3, date(2026, 5, 31), ["near_empty", "expired"]),
    ],
)
def test_stock_flags_warn_ahead_of_time(count: int, expiry: date | None, flags: list[str]) -> None:
    settings = CabinetWorkflowSettings(near_empty_doses=7, near_expiry_days=30)
    assert stock_flags(count, expiry, date(2026, 6, 1), settings) == flags


def test_dispense_command_becomes_a_dose_keyed_by_its_command_id() -> None:
    command = DispenseCommand.model_validate_json(json.dumps(COMMAND))
    dose = command.dose()
    assert (dose.dose_id, dose.command_id, dose.doses) == ("cmd:c-77", "c-77", 1)


@pytest.mark.parametrize(
    "change",
    [
        {"command_id": "c/77"},
        {"subject": "11010519450101234X"},
        {"window_end": "2026-05-02T07:00:00+08:00"},
        {"window_start": "2026-05-02T07:30:00"},
        {"extra": 1},
    ],
)
def test_dispense_command_refuses_what_it_cannot_act_on(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DispenseCommand.model_validate_json(json.dumps({**COMMAND, **change}))
