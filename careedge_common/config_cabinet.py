"""The gateway's medicine-cabinet workflows (``gateway.cabinet``): dose schedules per resident,
how long a released drawer waits for the dose, and when a pharmacist is warned about stock.

Schedules name a ``modbus_cabinet`` device and one of its slots; the cloud may add one-off doses
with a ``cmd/dispense`` message, which the edge keeps in its database, not here.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

CabinetId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
ResidentSubject = Annotated[str, Field(pattern=r"^s-[0-9a-f]{32}$")]
"""A pseudonymous subject (``careedge_common.config.SUBJECT_PATTERN``; repeated because that module
imports this one)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DoseWindow(_Strict):
    """A daily window in the site's time zone, ``start`` to ``end`` (``"08:00"`` to ``"09:30"``)."""

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError(f"end after start within one day, found {self.start} to {self.end}")
        return self


class DoseSchedule(_Strict):
    id: CabinetId
    """Names the schedule in dose IDs (``<id>:<date>:<HHMM>``) and the audit log."""
    subject: ResidentSubject
    cabinet: CabinetId
    """The ``modbus_cabinet`` device holding the medicine."""
    slot: int = Field(ge=1, le=256)
    doses: int = Field(default=1, ge=1, le=20)
    windows: list[DoseWindow] = Field(min_length=1)


class CabinetWorkflowSettings(_Strict):
    schedules: list[DoseSchedule] = []
    take_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    """After a drawer is released: how long the dose may stay in the slot before it counts as
    refused (once the drawer is shut and locked again)."""
    check_interval_s: float = Field(default=0.5, gt=0, le=60)
    """How often open doses look at the cabinet's registers."""
    near_empty_doses: int = Field(default=7, ge=0)
    """A slot holding this many doses or fewer is flagged for refilling."""
    near_expiry_days: int = Field(default=30, ge=0)
    """A slot whose lot expires within this many days is flagged."""

    @model_validator(mode="after")
    def _unique_schedule_ids(self) -> Self:
        ids = [schedule.id for schedule in self.schedules]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"unique schedule ids, found {', '.join(repeated)} more than once")
        return self
