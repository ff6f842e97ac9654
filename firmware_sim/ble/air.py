"""The simulated radio: which peripherals exist, who listens, who is connected on which adapter.

One ``SimulatedAir`` per test (or demo). Add peripherals, then give the driver
``air.client_backend`` and ``air.scanner_backend``. The air keeps the bookkeeping a test asserts
on: the addresses connected per adapter now (``connected``), the most at once (``peak``), and a
log of every connection opened and closed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from drivers.ble_gatt.driver import DEFAULT_ADAPTER
from firmware_sim.ble.backend import SimulatedBleakClient, SimulatedBleakScanner
from firmware_sim.ble.peripheral import Advertisement, SimulatedPeripheral

P = TypeVar("P", bound=SimulatedPeripheral)


@dataclass(frozen=True, slots=True)
class LinkEvent:
    opened: bool
    adapter: str
    address: str


class SimulatedAir:
    def __init__(self, adapters: Iterable[str] = (DEFAULT_ADAPTER,)) -> None:
        """``adapters``: the gateway's Bluetooth adapters; scanning on any other fails as on a
        machine without it."""
        self.adapters = frozenset(adapters)
        self.links: list[LinkEvent] = []
        self._peripherals: dict[str, SimulatedPeripheral] = {}
        self._scanners: list[SimulatedBleakScanner] = []
        self._connected: dict[str, set[str]] = {}
        self._peak: dict[str, int] = {}
        air = self

        class AirClient(SimulatedBleakClient):
            pass

        class AirScanner(SimulatedBleakScanner):
            pass

        AirClient.air = air
        AirScanner.air = air
        AirClient.__name__ = AirClient.__qualname__ = SimulatedBleakClient.__name__
        AirScanner.__name__ = AirScanner.__qualname__ = SimulatedBleakScanner.__name__
        self.client_backend: type[SimulatedBleakClient] = AirClient
        self.scanner_backend: type[SimulatedBleakScanner] = AirScanner

    def add(self, peripheral: P) -> P:
        peripheral.attach(self)
        self._peripherals[peripheral.address] = peripheral
        return peripheral

    def find(self, address: str) -> SimulatedPeripheral | None:
        return self._peripherals.get(address.upper())

    def connected(self, adapter: str = DEFAULT_ADAPTER) -> frozenset[str]:
        """Addresses connected through ``adapter`` now."""
        return frozenset(self._connected.get(adapter, ()))

    def peak(self, adapter: str = DEFAULT_ADAPTER) -> int:
        """The most connections ``adapter`` held at once so far."""
        return self._peak.get(adapter, 0)

    def shut_down(self) -> None:
        """Power every peripheral off (cancels their timers and tasks); the end of a test."""
        for peripheral in self._peripherals.values():
            peripheral.power_off()

    def listen(self, scanner: SimulatedBleakScanner) -> None:
        if scanner not in self._scanners:
            self._scanners.append(scanner)

    def unlisten(self, scanner: SimulatedBleakScanner) -> None:
        if scanner in self._scanners:
            self._scanners.remove(scanner)

    def broadcast(self, advertisement: Advertisement) -> None:
        for scanner in list(self._scanners):
            scanner.hear(advertisement)

    def link_opened(self, adapter: str, address: str) -> None:
        connected = self._connected.setdefault(adapter, set())
        connected.add(address)
        self._peak[adapter] = max(self._peak.get(adapter, 0), len(connected))
        self.links.append(LinkEvent(True, adapter, address))

    def link_closed(self, adapter: str, address: str) -> None:
        self._connected.get(adapter, set()).discard(address)
        self.links.append(LinkEvent(False, adapter, address))
