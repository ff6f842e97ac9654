"""Turn the configured schedules into today's doses, once each window has begun."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from careedge_common.config_cabinet import DoseSchedule
from edge.dose_store import Dose


def schedule_problems(schedules: Iterable[DoseSchedule], slots: Mapping[str, int]) -> list[str]:
    """One line per schedule naming a cabinet this gateway does not have (``slots``: each
    ``modbus_cabinet`` device's slot count, from its profile) or a slot it does not have."""
    problems: list[str] = []
    for index, schedule in enumerate(schedules):
        where = f"gateway.cabinet.schedules[{index}]"
        if schedule.cabinet not in slots:
            known = ", ".join(sorted(slots)) or "none configured"
            problems.append(f"{where}.cabinet: a modbus_cabinet device ({known}), found {schedule.cabinet!r}")
        elif schedule.slot > slots[schedule.cabinet]:
            count = slots[schedule.cabinet]
            problems.append(
                f"{where}.slot: 1 to {count} on cabinet {schedule.cabinet}, found {schedule.slot}"
            )
    return problems


def dose_id(schedule_id: str, local_start: datetime) -> str:
    """``<schedule>:<YYYY-MM-DD>:<HHMM>`` in site time: the same dose gets the same ID after a restart."""
    return f"{schedule_id}:{local_start:%Y-%m-%d}:{local_start:%H%M}"


def started_doses(schedules: Iterable[DoseSchedule], now: datetime, timezone: ZoneInfo) -> list[Dose]:
    """Doses of the site's current day whose window has started by ``now`` (aware), open or closed:
    a window that closed while the edge was down still yields its dose, which then counts as missed."""
    local_now = now.astimezone(timezone)
    doses: list[Dose] = []
    for schedule in schedules:
        for window in schedule.windows:
            start = datetime.combine(local_now.date(), window.start, timezone)
            if start > local_now:
                continue
            end = datetime.combine(local_now.date(), window.end, timezone)
            doses.append(
                Dose(
                    dose_id(schedule.id, start),
                    schedule.cabinet,
                    schedule.slot,
                    schedule.doses,
                    schedule.subject,
                    start,
                    end,
                )
            )
    return doses
