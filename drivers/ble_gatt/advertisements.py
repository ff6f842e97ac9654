"""Which allowed device to connect to next, from what the scanner hears.

The scanner filters by the profile's service UUID; this keeps only the configured addresses (the
allowlist: a neighbour's cuff advertising the same service is never connected). After a session
with a device ends, only an advertisement heard *after* that counts: a device that stopped
advertising must not be connected again on the strength of an old one (BlueZ would wait out a
long connection timeout). When several allowed devices wait, the one served longest ago goes
first, so a device that advertises all the time cannot starve the others.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Collection

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData


def normal_address(address: str) -> str:
    """Addresses compare case-insensitively (``aa:bb:…`` from config, ``AA:BB:…`` from BlueZ)."""
    return address.strip().upper()


class AdvertisementWatch:
    def __init__(self, allowed: Collection[str]) -> None:
        self._allowed = frozenset(normal_address(address) for address in allowed)
        self._heard: dict[str, tuple[BLEDevice, float]] = {}
        self._ended: dict[str, float] = {}
        self._changed = asyncio.Event()

    def heard(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        """The scanner's detection callback."""
        address = normal_address(device.address)
        if address in self._allowed:
            self._heard[address] = (device, time.monotonic())
            self._changed.set()

    def ended(self, address: str) -> None:
        """A session with ``address`` is over: its earlier advertisements no longer count."""
        self._ended[normal_address(address)] = time.monotonic()

    async def next(self) -> BLEDevice:
        """The next allowed device to connect to; waits until one advertises."""
        while True:
            waiting = [
                (self._ended.get(address, -math.inf), address)
                for address, (_, at) in self._heard.items()
                if at > self._ended.get(address, -math.inf)
            ]
            if waiting:
                return self._heard[min(waiting)[1]][0]
            self._changed.clear()
            await self._changed.wait()
