"""The GATT table of a simulated peripheral, and bleak's view of it after service discovery.

Handles are numbered as a GATT server would: each service, then each characteristic's value,
then its Client Characteristic Configuration Descriptor (CCCD) when it can notify or indicate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bleak.assigned_numbers import CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakGATTProtocolError, BleakGATTProtocolErrorCode
from bleak.uuids import normalize_uuid_16

CCCD_UUID16 = 0x2902
DEFAULT_ATT_MTU = 23
WRITE_WITHOUT_RESPONSE_SIZE = DEFAULT_ATT_MTU - 3
"""ATT header: op code and handle."""


@dataclass(eq=False)
class SimCharacteristic:
    uuid16: int
    properties: tuple[CharacteristicPropertyName, ...]
    read: Callable[[], bytes] | None = None
    write: Callable[[bytes], None] | None = None
    """Raises ``BleakGATTProtocolError`` to refuse the value, as the device's ATT error response."""

    @property
    def pushes(self) -> bool:
        """It can notify or indicate (and so has a CCCD)."""
        return "notify" in self.properties or "indicate" in self.properties


@dataclass(frozen=True, eq=False)
class SimService:
    uuid16: int
    characteristics: tuple[SimCharacteristic, ...]


class GattTable:
    def __init__(self, services: Sequence[SimService]) -> None:
        self.services = tuple(services)
        self._handles: dict[int, SimCharacteristic] = {}
        self._value_handles: dict[int, int] = {}
        self._layout: list[tuple[int, SimService, list[tuple[int, SimCharacteristic, int | None]]]] = []
        handle = 0
        for service in self.services:
            handle += 1
            service_handle = handle
            entries: list[tuple[int, SimCharacteristic, int | None]] = []
            for characteristic in service.characteristics:
                handle += 1
                value_handle = handle
                cccd = None
                if characteristic.pushes:
                    handle += 1
                    cccd = handle
                entries.append((value_handle, characteristic, cccd))
                self._handles[value_handle] = characteristic
                self._value_handles[characteristic.uuid16] = value_handle
            self._layout.append((service_handle, service, entries))

    def by_handle(self, handle: int) -> SimCharacteristic:
        """Raises ``BleakGATTProtocolError`` (invalid handle) for a handle that is not a value."""
        try:
            return self._handles[handle]
        except KeyError:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.INVALID_HANDLE) from None

    def handle_of(self, uuid16: int) -> int:
        """The value handle of a characteristic the table has (``KeyError`` otherwise)."""
        return self._value_handles[uuid16]

    def collection(self) -> BleakGATTServiceCollection:
        """What bleak holds after service discovery; new objects for each connection."""
        collection = BleakGATTServiceCollection()
        for service_handle, service, entries in self._layout:
            bleak_service = BleakGATTService(service, service_handle, normalize_uuid_16(service.uuid16))
            collection.add_service(bleak_service)
            for value_handle, characteristic, cccd in entries:
                bleak_characteristic = BleakGATTCharacteristic(
                    characteristic,
                    value_handle,
                    normalize_uuid_16(characteristic.uuid16),
                    list(characteristic.properties),
                    lambda: WRITE_WITHOUT_RESPONSE_SIZE,
                    bleak_service,
                )
                collection.add_characteristic(bleak_characteristic)
                if cccd is not None:
                    collection.add_descriptor(
                        BleakGATTDescriptor(None, cccd, normalize_uuid_16(CCCD_UUID16), bleak_characteristic)
                    )
        return collection
