"""Which slots a pharmacist should look at before they run out or expire (pure logic)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from careedge_common.config_cabinet import CabinetWorkflowSettings

StockFlag = Literal["empty", "near_empty", "expired", "near_expiry"]


def stock_flags(
    count: int, expiry: date | None, today: date, settings: CabinetWorkflowSettings
) -> list[StockFlag]:
    """``count``: doses the cabinet counts in the slot; ``expiry``: the lot's, if recorded.
    A slot at or under ``near_empty_doses`` is flagged, and a lot within ``near_expiry_days``."""
    flags: list[StockFlag] = []
    if count <= 0:
        flags.append("empty")
    elif count <= settings.near_empty_doses:
        flags.append("near_empty")
    if expiry is not None:
        if expiry < today:
            flags.append("expired")
        elif (expiry - today).days <= settings.near_expiry_days:
            flags.append("near_expiry")
    return flags
