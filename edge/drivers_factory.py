"""Build the driver for each configured device; the only place the edge names driver classes."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from careedge_common.config import AstmSettings, BleSettings, DeviceConfig
from careedge_common.pseudonym import Pseudonymiser
from drivers.astm.driver import AstmAnalyzerDriver
from drivers.astm.vocabulary import Analytes
from drivers.ble_gatt import DEFAULT_ADAPTER, BleHealthDriver, ConnectionSlots
from drivers.contract import DeviceDriver, RejectCounter
from drivers.hl7.driver import Hl7KioskDriver
from drivers.id_reader import IdentificationSource, IdReaderDriver
from edge.ble_glucose import GlucoseCounters


@dataclass(frozen=True, slots=True)
class BleBackends:
    """bleak backends to use instead of the platform's (BlueZ on the gateway): the simulated air of
    ``firmware_sim.ble`` in tests and the demo."""

    client: type[BaseBleakClient]
    scanner: type[BaseBleakScanner]


@dataclass(frozen=True, slots=True)
class BleWiring:
    """What every ``ble_health`` driver of one gateway shares."""

    slots: ConnectionSlots
    """One per gateway: the adapters' connection limits hold across devices."""
    glucose: GlucoseCounters
    backends: BleBackends | None = None
    """None: bleak's platform backends (production)."""

    @classmethod
    def for_gateway(
        cls, settings: BleSettings, glucose: GlucoseCounters, backends: BleBackends | None = None
    ) -> BleWiring:
        slots = ConnectionSlots(settings.max_connections_per_adapter, settings.adapter_limits)
        return cls(slots, glucose, backends)


def make_driver(
    device: DeviceConfig,
    *,
    timezone: ZoneInfo,
    pseudonymiser: Pseudonymiser,
    authority: str,
    on_rejected: RejectCounter,
    ble: BleWiring | None = None,
) -> DeviceDriver:
    """``authority``: the site's identifier authority (``KioskConfig.identifier_authority``), for
    devices that send a patient ID without naming who issued it. ``ble`` is required for a
    ``ble_health`` device (``ValueError`` without it)."""
    match device.kind:
        case "hl7_kiosk":
            return Hl7KioskDriver(
                device, timezone=timezone, pseudonymiser=pseudonymiser, on_rejected=on_rejected
            )
        case "astm_poc":
            settings = device.astm or AstmSettings()
            return AstmAnalyzerDriver(
                device_id=device.id,
                port=device.serial_port,
                serial=device.serial,
                timezone=timezone,
                pseudonymiser=pseudonymiser,
                on_rejected=on_rejected,
                analytes=Analytes(settings.analytes),
                patient_id_authority=settings.patient_id_authority or authority,
            )
        case "ble_health":
            return _ble_driver(device, timezone=timezone, on_rejected=on_rejected, ble=ble)
        case "id_reader":
            raise ValueError(f"{device.id}: an id_reader yields identifications, not readings")
        case "modbus_cabinet":
            raise ValueError(
                f"{device.id}: a modbus_cabinet is driven by the cabinet workflow, not read for readings"
            )


def _ble_driver(
    device: DeviceConfig, *, timezone: ZoneInfo, on_rejected: RejectCounter, ble: BleWiring | None
) -> BleHealthDriver:
    if ble is None or device.profile is None:
        raise ValueError(f"{device.id}: a ble_health device needs the gateway's BLE wiring and a profile")
    glucose = ble.glucose
    device_id = device.id
    return BleHealthDriver(
        device_id=device_id,
        profile=device.profile,
        addresses=device.addresses,
        timezone=timezone,
        on_rejected=on_rejected,
        slots=ble.slots,
        adapter=device.adapter or DEFAULT_ADAPTER,
        last_glucose_sequence=lambda address: glucose.last(device_id, address),
        subject_for_user=device.subject_for_user if device.user_map else None,
        client_backend=None if ble.backends is None else ble.backends.client,
        scanner_backend=None if ble.backends is None else ble.backends.scanner,
    )


def make_identification_source(
    device: DeviceConfig, *, pseudonymiser: Pseudonymiser, authority: str, on_rejected: RejectCounter
) -> IdentificationSource:
    """The reader for an ``id_reader`` device; ``authority`` from ``KioskConfig.identifier_authority``."""
    if device.kind != "id_reader":
        raise ValueError(f"{device.id}: a {device.kind} is not an identification device")
    return IdReaderDriver(device, pseudonymiser=pseudonymiser, authority=authority, on_rejected=on_rejected)
