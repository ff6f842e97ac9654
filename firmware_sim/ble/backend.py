"""bleak backends (client and scanner) that talk to simulated peripherals instead of a radio.

They plug in where BlueZ's do: ``BleakClient(device, backend=air.client_backend)`` and
``BleakScanner(..., backend=air.scanner_backend)``, so the driver under test is the code a gateway
runs, down to bleak-retry-connector's ``establish_connection``. Each ``SimulatedAir`` makes its
own subclasses bound to it (``air`` class attribute), because bleak constructs backends itself.
The adapter comes from bleak's BlueZ arguments (``bluez={"adapter": "hci1"}``), as on Linux.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from bleak.args import SizedBuffer
from bleak.args.bluez import BlueZScannerArgs
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
    BleakGATTProtocolErrorCode,
)
from bleak.uuids import normalize_uuid_16

from drivers.ble_gatt.driver import DEFAULT_ADAPTER
from firmware_sim.ble.gatt import CCCD_UUID16, DEFAULT_ATT_MTU
from firmware_sim.ble.peripheral import Advertisement, SimulatedPeripheral

if TYPE_CHECKING:
    from firmware_sim.ble.air import SimulatedAir


def _adapter(options: Any) -> str:
    adapter = options.get("adapter") if isinstance(options, dict) else None
    return adapter if isinstance(adapter, str) and adapter else DEFAULT_ADAPTER


class SimulatedBleakClient(BaseBleakClient):
    air: ClassVar[SimulatedAir]

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None,
        timeout: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        self.adapter = _adapter(kwargs.get("bluez"))
        self._peripheral: SimulatedPeripheral | None = None
        self._callbacks: dict[int, NotifyCallback] = {}

    @property
    def name(self) -> str:
        peripheral = self.air.find(self.address)
        return self.address if peripheral is None else peripheral.name

    @property
    def mtu_size(self) -> int:
        return DEFAULT_ATT_MTU

    @property
    def is_connected(self) -> bool:
        return self._peripheral is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Raises ``BleakDeviceNotFoundError`` when the device is not advertising, ``BleakError``
        when it refuses (an injected fault)."""
        peripheral = self.air.find(self.address)
        if peripheral is None:
            raise BleakDeviceNotFoundError(self.address, f"Device with address {self.address} was not found.")
        peripheral.accept(self)
        self._peripheral = peripheral
        self.services = peripheral.gatt.collection()

    async def disconnect(self) -> None:
        peripheral, self._peripheral = self._peripheral, None
        self._callbacks.clear()
        if peripheral is not None:
            peripheral.release(self)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """The simulated devices need no bonding."""

    async def unpair(self) -> None:
        """The simulated devices need no bonding."""

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return bytearray(self._connected().read(characteristic.handle))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        if descriptor.uuid != normalize_uuid_16(CCCD_UUID16):
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.READ_NOT_PERMITTED)
        return bytearray(self._connected().cccd(descriptor.characteristic_handle))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        self._connected().write(characteristic.handle, bytes(data))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.WRITE_NOT_PERMITTED)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        peripheral = self._connected()
        self._callbacks[characteristic.handle] = callback
        peripheral.subscribe(characteristic.handle)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._connected().unsubscribe(characteristic.handle)
        self._callbacks.pop(characteristic.handle, None)

    def deliver(self, handle: int, data: bytes) -> None:
        """A notification or indication from the peripheral, handed to bleak's callback."""
        callback = self._callbacks.get(handle)
        if callback is not None:
            callback(bytearray(data))

    def link_lost(self) -> None:
        """The peripheral ended the link: bleak's disconnected callback runs on the loop, as on BlueZ."""
        self._peripheral = None
        self._callbacks.clear()
        if self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback)

    def _connected(self) -> SimulatedPeripheral:
        if self._peripheral is None:
            raise BleakError("Not connected")
        return self._peripheral


class SimulatedBleakScanner(BaseBleakScanner):
    air: ClassVar[SimulatedAir]

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        *,
        bluez: BlueZScannerArgs | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self.adapter = _adapter(bluez)

    async def start(self) -> None:
        """Raises ``BleakBluetoothNotAvailableError`` for an adapter the air does not have."""
        if self.adapter not in self.air.adapters:
            raise BleakBluetoothNotAvailableError(
                f"adapter {self.adapter} not found", BleakBluetoothNotAvailableReason.NO_BLUETOOTH
            )
        self.seen_devices = {}
        self.air.listen(self)

    async def stop(self) -> None:
        self.air.unlisten(self)

    def hear(self, advertisement: Advertisement) -> None:
        data = AdvertisementData(
            local_name=advertisement.name,
            manufacturer_data={},
            service_data={},
            service_uuids=list(advertisement.service_uuids),
            tx_power=None,
            rssi=advertisement.rssi,
            platform_data=(),
        )
        if not self.is_allowed_uuid(data.service_uuids):
            return
        details = {"source": f"simulated {self.adapter}"}
        device = self.create_or_update_device(
            advertisement.address, advertisement.address, advertisement.name, details, data
        )
        self.call_detection_callbacks(device, data)
