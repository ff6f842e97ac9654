"""Build the driver for each configured device; the only place the edge names driver classes."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from careedge_common.config import AstmSettings, DeviceConfig
from careedge_common.pseudonym import Pseudonymiser
from drivers.astm.driver import AstmAnalyzerDriver
from drivers.astm.vocabulary import Analytes
from drivers.contract import DeviceDriver, RejectCounter
from drivers.hl7.driver import Hl7KioskDriver
from drivers.id_reader import IdentificationSource, IdReaderDriver


def make_driver(
    device: DeviceConfig,
    *,
    timezone: ZoneInfo,
    pseudonymiser: Pseudonymiser,
    authority: str,
    on_rejected: RejectCounter,
) -> DeviceDriver:
    """``authority``: the site's identifier authority (``KioskConfig.identifier_authority``), for
    devices that send a patient ID without naming who issued it."""
    match device.kind:
        case "hl7_kiosk":
            return Hl7KioskDriver(
                device, timezone=timezone, pseudonymiser=pseudonymiser, on_rejected=on_rejected
            )
        case "astm_poc":
            settings = device.astm or AstmSettings()
            return AstmAnalyzerDriver(
                device_id=device.id,
                port=device.port,
                serial=device.serial,
                timezone=timezone,
                pseudonymiser=pseudonymiser,
                on_rejected=on_rejected,
                analytes=Analytes(settings.analytes),
                patient_id_authority=settings.patient_id_authority or authority,
            )
        case "id_reader":
            raise ValueError(f"{device.id}: an id_reader yields identifications, not readings")


def make_identification_source(
    device: DeviceConfig, *, pseudonymiser: Pseudonymiser, authority: str, on_rejected: RejectCounter
) -> IdentificationSource:
    """The reader for an ``id_reader`` device; ``authority`` from ``KioskConfig.identifier_authority``."""
    if device.kind != "id_reader":
        raise ValueError(f"{device.id}: a {device.kind} is not an identification device")
    return IdReaderDriver(device, pseudonymiser=pseudonymiser, authority=authority, on_rejected=on_rejected)
