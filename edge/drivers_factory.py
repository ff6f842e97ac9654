"""Build the driver for each configured device; the only place the edge names driver classes."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from careedge_common.config import DeviceConfig
from careedge_common.pseudonym import Pseudonymiser
from drivers.contract import DeviceDriver, RejectCounter
from drivers.hl7.driver import Hl7KioskDriver


def make_driver(
    device: DeviceConfig, *, timezone: ZoneInfo, pseudonymiser: Pseudonymiser, on_rejected: RejectCounter
) -> DeviceDriver:
    match device.kind:
        case "hl7_kiosk":
            return Hl7KioskDriver(
                device, timezone=timezone, pseudonymiser=pseudonymiser, on_rejected=on_rejected
            )
