"""A BLE peripheral in the simulated air: advertising, one connection at a time, GATT reads and
writes, notifications and indications in order, stored measurements, faults, a device clock.

How it behaves, as the health devices it stands for do:

- It advertises (its service UUID, name and address, every ``advertising_interval_s``) after
  ``power_on``, while it holds a measurement nobody has received, after a link loss, and always
  when ``always_advertise`` (a heart rate strap). It stops advertising while connected.
- A finished measurement (``Delivery.STORED``) waits in the device until a connected central has
  subscribed to its characteristic; one cut off by a link loss is sent again on the next
  connection. Display values (``STREAM``) go only to a subscribed central. Record transfer values
  (``PROCEDURE``) go with the connection.
- Values leave one at a time in order, as indications do. With ``disconnect_when_done`` the device
  ends the connection itself once it has sent something and has nothing left to send.
- The Current Time Service (0x1805) reads and sets ``clock``; measurements are stamped with it.

Everything is driven by the test (``measure``-style methods of the devices, ``inject``) on the
running event loop; the only timers are the advertising interval and an injected ``Delay``.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Literal, Protocol, TypeVar

from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError, BleakGATTProtocolErrorCode

from drivers.ble.errors import BleDecodeError
from drivers.ble_gatt.current_time import (
    CURRENT_TIME_SERVICE_UUID16,
    CURRENT_TIME_UUID16,
    current_time_of,
    decode_current_time,
    encode_current_time,
)
from drivers.ble_gatt.profiles import uuid128
from firmware_sim.ble.clock import DeviceClock
from firmware_sim.ble.faults import (
    ClockWrong,
    Delay,
    DisconnectAfter,
    Drop,
    Fault,
    LostConfirmation,
    Malformed,
    RefuseConnections,
)
from firmware_sim.ble.gatt import GattTable, SimCharacteristic, SimService

DEFAULT_RSSI = -60
DEFAULT_ADVERTISING_INTERVAL_S = 0.05
CTS_DATA_FIELD_IGNORED = 0x80
"""CTS application error: the written Current Time was not taken."""
CCCD_NOTIFY = b"\x01\x00"
CCCD_INDICATE = b"\x02\x00"
CCCD_OFF = b"\x00\x00"
CurrentTimeSupport = Literal["writable", "read_only"] | None


class Delivery(Enum):
    STORED = "stored"
    STREAM = "stream"
    PROCEDURE = "procedure"


@dataclass(frozen=True, eq=False)
class Outgoing:
    uuid16: int
    payload: bytes
    delivery: Delivery
    ends_procedure: bool = False


@dataclass(frozen=True, slots=True)
class Advertisement:
    address: str
    name: str
    service_uuids: tuple[str, ...]
    rssi: int


class Central(Protocol):
    """The simulated client backend, as the peripheral sees it."""

    adapter: str

    def deliver(self, handle: int, data: bytes) -> None: ...

    def link_lost(self) -> None: ...


class Air(Protocol):
    def broadcast(self, advertisement: Advertisement) -> None: ...

    def link_opened(self, adapter: str, address: str) -> None: ...

    def link_closed(self, adapter: str, address: str) -> None: ...


F = TypeVar("F", Delay, Drop, LostConfirmation, Malformed)


class SimulatedPeripheral:
    def __init__(
        self,
        *,
        address: str,
        name: str,
        service_uuid16: int,
        services: Sequence[SimService],
        clock: DeviceClock,
        current_time: CurrentTimeSupport = "writable",
        disconnect_when_done: bool = True,
        always_advertise: bool = False,
        advertising_interval_s: float = DEFAULT_ADVERTISING_INTERVAL_S,
        seed: int = 0,
    ) -> None:
        self.address = address.upper()
        self.name = name
        self.clock = clock
        self.service_uuid16 = service_uuid16
        if current_time is not None:
            services = [*services, self._current_time_service(current_time)]
        self.gatt = GattTable(services)
        self.delivered: list[tuple[int, bytes]] = []
        """Every value a central received, in order: (characteristic UUID16, bytes)."""
        self.connections = 0
        """Connections accepted so far."""
        self.advertising = False
        self.procedure_running = False
        self._disconnect_when_done = disconnect_when_done
        self._always_advertise = always_advertise
        self._advertising_interval_s = advertising_interval_s
        self._rng = random.Random(seed)
        self._air: Air | None = None
        self._central: Central | None = None
        self._subscribed: set[int] = set()
        self._pending: deque[Outgoing] = deque()
        self._outgoing: deque[Outgoing] = deque()
        self._wake = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._ticker: asyncio.Handle | None = None
        self._faults: list[Delay | Drop | LostConfirmation | Malformed] = []
        self._refusals = 0
        self._countdown: int | None = None
        self._sent_on_link = False
        self._stalled = False
        """A value was dropped (``Drop``): the device waits as if it were still on its way."""

    # The test's side.

    def attach(self, air: Air) -> None:
        self._air = air

    def power_on(self) -> None:
        """Start advertising (needs the running event loop)."""
        self._start_advertising()

    def power_off(self) -> None:
        """Stop advertising and drop any connection, as when the battery is taken out."""
        self._stop_advertising()
        if self._central is not None:
            self._end_link(self._central, unsolicited=True, lost=False)
        self._always_advertise = False
        self._pending.clear()

    def inject(self, fault: Fault) -> None:
        match fault:
            case ClockWrong(offset):
                self.clock.offset = offset
            case RefuseConnections(count):
                self._refusals += count
            case DisconnectAfter(deliveries):
                self._countdown = deliveries
            case Delay() | Drop() | LostConfirmation() | Malformed():
                self._faults.append(fault)

    @property
    def connected(self) -> bool:
        return self._central is not None

    def subscribed(self, uuid16: int) -> bool:
        return uuid16 in self._subscribed

    @property
    def waiting(self) -> tuple[tuple[int, bytes], ...]:
        """Stored measurements not yet received by any central."""
        return tuple(
            (item.uuid16, item.payload)
            for item in (*self._outgoing, *self._pending)
            if item.delivery is Delivery.STORED
        )

    def advertisement(self) -> Advertisement:
        return Advertisement(self.address, self.name, (uuid128(self.service_uuid16),), DEFAULT_RSSI)

    # The central's side (the simulated bleak backend).

    def accept(self, central: Central) -> None:
        """A connection request; raises as BlueZ would for a device that cannot be connected."""
        if self._refusals:
            self._refusals -= 1
            raise BleakError(f"{self.address}: connection refused (simulated fault)")
        if not self.advertising or self._central is not None:
            raise BleakDeviceNotFoundError(self.address, f"Device with address {self.address} was not found.")
        self._stop_advertising()
        self._central = central
        self._subscribed = set()
        self._sent_on_link = False
        self._stalled = False
        self.connections += 1
        self._require_air().link_opened(central.adapter, self.address)
        self._sender = asyncio.get_running_loop().create_task(self._send_loop(central))

    def release(self, central: Central) -> None:
        """The central disconnects."""
        self._end_link(central, unsolicited=False, lost=False)

    def read(self, handle: int) -> bytes:
        characteristic = self.gatt.by_handle(handle)
        if characteristic.read is None:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.READ_NOT_PERMITTED)
        return characteristic.read()

    def write(self, handle: int, data: bytes) -> None:
        characteristic = self.gatt.by_handle(handle)
        if characteristic.write is None:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.WRITE_NOT_PERMITTED)
        characteristic.write(data)

    def subscribe(self, handle: int) -> None:
        """The central enabled notifications or indications: stored values for it leave now."""
        characteristic = self.gatt.by_handle(handle)
        if not characteristic.pushes:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.REQUEST_NOT_SUPPORTED)
        uuid16 = characteristic.uuid16
        self._subscribed.add(uuid16)
        self._outgoing.extend(item for item in self._pending if item.uuid16 == uuid16)
        self._pending = deque(item for item in self._pending if item.uuid16 != uuid16)
        self._wake.set()

    def unsubscribe(self, handle: int) -> None:
        self._subscribed.discard(self.gatt.by_handle(handle).uuid16)

    def cccd(self, handle: int) -> bytes:
        """The CCCD value of the characteristic at ``handle``."""
        characteristic = self.gatt.by_handle(handle)
        if characteristic.uuid16 not in self._subscribed:
            return CCCD_OFF
        return CCCD_INDICATE if "indicate" in characteristic.properties else CCCD_NOTIFY

    # For the devices.

    def send(self, uuid16: int, payload: bytes, delivery: Delivery, *, ends_procedure: bool = False) -> None:
        """Queue a value for the connected central, keep it (``STORED``), or let it go."""
        malformed = self._take(Malformed, uuid16)
        if malformed is not None:
            payload = self._corrupt(payload, malformed)
        item = Outgoing(uuid16, payload, delivery, ends_procedure)
        if self._central is not None and uuid16 in self._subscribed:
            self._outgoing.append(item)
            self._wake.set()
        elif delivery is Delivery.STORED:
            self._pending.append(item)
            if self._central is None:
                self._start_advertising()

    def cancel_procedure(self) -> None:
        """Drop the record-transfer values not yet sent (RACP abort)."""
        self._outgoing = deque(item for item in self._outgoing if item.delivery is not Delivery.PROCEDURE)
        self.procedure_running = False

    # Inside.

    async def _send_loop(self, central: Central) -> None:
        while self._central is central:
            if not self._outgoing:
                if (
                    self._disconnect_when_done
                    and self._sent_on_link
                    and not self._stalled
                    and not self.procedure_running
                ):
                    self._end_link(central, unsolicited=True, lost=False)
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            item = self._outgoing[0]
            delay = self._take(Delay, item.uuid16)
            if delay is not None:
                await asyncio.sleep(delay.seconds)
                if not self._outgoing or self._outgoing[0] is not item:
                    continue
            if self._countdown == 0:
                self._countdown = None
                self._end_link(central, unsolicited=True, lost=True)
                return
            self._outgoing.popleft()
            if self._take(Drop, item.uuid16) is not None:
                self._stalled = True
            else:
                central.deliver(self.gatt.handle_of(item.uuid16), item.payload)
                self.delivered.append((item.uuid16, item.payload))
                self._sent_on_link = True
                if self._countdown is not None:
                    self._countdown -= 1
                if self._take(LostConfirmation, item.uuid16) is not None:
                    self._outgoing.appendleft(item)
                    self._end_link(central, unsolicited=True, lost=True)
                    return
            if item.ends_procedure:
                self.procedure_running = False

    def _end_link(self, central: Central, *, unsolicited: bool, lost: bool) -> None:
        if self._central is not central:
            return
        self._central = None
        sender, self._sender = self._sender, None
        if sender is not None and sender is not asyncio.current_task():
            sender.cancel()
        self._pending.extendleft(
            reversed([item for item in self._outgoing if item.delivery is Delivery.STORED])
        )
        self._outgoing.clear()
        self._subscribed.clear()
        self.procedure_running = False
        self._require_air().link_closed(central.adapter, self.address)
        if unsolicited:
            central.link_lost()
        if self._pending or self._always_advertise or lost:
            self._start_advertising()

    def _start_advertising(self) -> None:
        self.advertising = True
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().call_soon(self._advertise)

    def _stop_advertising(self) -> None:
        self.advertising = False
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    def _advertise(self) -> None:
        self._ticker = None
        if not self.advertising:
            return
        self._require_air().broadcast(self.advertisement())
        self._ticker = asyncio.get_running_loop().call_later(self._advertising_interval_s, self._advertise)

    def _take(self, kind: type[F], uuid16: int) -> F | None:
        for fault in self._faults:
            if isinstance(fault, kind) and fault.uuid16 == uuid16:
                self._faults.remove(fault)
                return fault
        return None

    def _corrupt(self, payload: bytes, fault: Malformed) -> bytes:
        how = fault.how or self._rng.choice(("truncate", "extend"))
        return payload[:-1] if how == "truncate" else payload + bytes([self._rng.randrange(256)])

    def _require_air(self) -> Air:
        if self._air is None:
            raise RuntimeError(f"{self.address}: not in any SimulatedAir (air.add(peripheral))")
        return self._air

    def _current_time_service(self, support: Literal["writable", "read_only"]) -> SimService:
        writable = support == "writable"
        characteristic = SimCharacteristic(
            CURRENT_TIME_UUID16,
            ("read", "write", "notify") if writable else ("read", "notify"),
            read=lambda: encode_current_time(current_time_of(self.clock.wall(), adjust_reason=0)),
            write=self._write_time if writable else None,
        )
        return SimService(CURRENT_TIME_SERVICE_UUID16, (characteristic,))

    def _write_time(self, data: bytes) -> None:
        try:
            shown = decode_current_time(data).wall_clock
        except BleDecodeError:
            shown = None
        if shown is None:
            raise BleakGATTProtocolError(CTS_DATA_FIELD_IGNORED)
        self.clock.set(shown)
