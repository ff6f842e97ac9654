"""One BLE connection: connect through bleak-retry-connector, GATT operations under a timeout, and
every notification, indication and disconnection as one queue of events in arrival order.

bleak confirms an indication to the device as it hands the value over (the ATT confirmation is
the operating system's): there is no application-level acknowledgement in BLE. The queue is
unbounded because a device cannot be told to wait; it is as long as one connection delivers (a
measurement or one record transfer) and is dropped with the connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak_retry_connector import BleakClientWithServiceCache, establish_connection

from drivers.ble_gatt.errors import ConnectFailed, GattFailed
from drivers.ble_gatt.policy import BlePolicy
from drivers.ble_gatt.profiles import uuid128

logger = logging.getLogger(__name__)

GATT_ERRORS = (BleakError, TimeoutError, EOFError, BrokenPipeError)
"""What a bleak GATT operation raises when the link or the device fails (D-Bus errors included)."""


@dataclass(frozen=True, slots=True)
class Notification:
    """A value the device notified or indicated."""

    uuid16: int
    data: bytes
    received_at: datetime
    """Aware, from the driver's clock, taken when bleak handed the value over."""


class LinkDown:
    """The device went away (its own disconnection, out of range, supervision timeout)."""


LINK_DOWN = LinkDown()
T = TypeVar("T")
Event = Notification | LinkDown


class GattLink:
    def __init__(
        self,
        client: BleakClient,
        events: asyncio.Queue[Event],
        policy: BlePolicy,
        clock: Callable[[], datetime],
    ) -> None:
        self.address = client.address
        self._client = client
        self._events = events
        self._policy = policy
        self._clock = clock
        self._open = True

    @classmethod
    async def connect(
        cls,
        device: BLEDevice,
        *,
        adapter: str,
        client_backend: type[BaseBleakClient] | None,
        policy: BlePolicy,
        clock: Callable[[], datetime],
    ) -> GattLink:
        """Raises ``ConnectFailed`` when bleak-retry-connector gives up."""
        events: asyncio.Queue[Event] = asyncio.Queue()

        def lost(_: BleakClient) -> None:
            events.put_nowait(LINK_DOWN)

        try:
            client = await establish_connection(
                BleakClientWithServiceCache,
                device,
                device.address,
                disconnected_callback=lost,
                max_attempts=policy.connect_attempts,
                backend=client_backend,
                bluez={"adapter": adapter},
            )
        except GATT_ERRORS as exc:
            raise ConnectFailed(f"{device.address}: {exc or type(exc).__name__}") from exc
        return cls(client, events, policy, clock)

    def offers(self, uuid16: int) -> bool:
        """Whether the device has this characteristic (in any service)."""
        return self._client.services.get_characteristic(uuid128(uuid16)) is not None

    def offers_service(self, uuid16: int) -> bool:
        return self._client.services.get_service(uuid128(uuid16)) is not None

    async def subscribe(self, uuid16s: Iterable[int]) -> None:
        """Enable notifications or indications (whichever the characteristic has) on each, in order."""
        for uuid16 in uuid16s:
            await self._gatt(
                f"subscribe to 0x{uuid16:04X}",
                self._client.start_notify(uuid128(uuid16), self._value(uuid16)),
            )

    async def read(self, uuid16: int) -> bytes:
        return bytes(await self._gatt(f"read 0x{uuid16:04X}", self._client.read_gatt_char(uuid128(uuid16))))

    async def write(self, uuid16: int, data: bytes) -> None:
        """Write with response: returns once the device has accepted the value."""
        await self._gatt(
            f"write 0x{uuid16:04X}", self._client.write_gatt_char(uuid128(uuid16), data, response=True)
        )

    async def next_event(self, timeout_s: float) -> Event:
        """The next notification or disconnection; raises ``TimeoutError`` after ``timeout_s``.

        ``asyncio.timeout``, not ``wait_for``: on Python 3.11 ``wait_for`` loses a cancellation that
        arrives as its operation completes, and a device task then never stops."""
        async with asyncio.timeout(timeout_s):
            return await self._events.get()

    async def close(self) -> None:
        """Disconnect; safe to call twice and after the device went away."""
        if not self._open:
            return
        self._open = False
        try:
            async with asyncio.timeout(self._policy.gatt_timeout_s):
                await self._client.disconnect()
        except GATT_ERRORS as exc:
            logger.debug("%s: disconnect: %s", self.address, exc)

    def _value(self, uuid16: int) -> Callable[[BleakGATTCharacteristic, bytearray], None]:
        def heard(_: BleakGATTCharacteristic, data: bytearray) -> None:
            self._events.put_nowait(Notification(uuid16, bytes(data), self._clock()))

        return heard

    async def _gatt(self, what: str, operation: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self._policy.gatt_timeout_s):
                return await operation
        except GATT_ERRORS as exc:
            raise GattFailed(f"{self.address}: {what} failed: {exc or type(exc).__name__}") from exc
