"""The edge's side of a BLE driver test: the real driver, the simulated air, and a stand-in for the
device supervisor that stores each reading before it asks the driver for the next one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from drivers.ble_gatt import BleHealthDriver, BlePolicy, ConnectionSlots, parse_glucose_ref
from drivers.contract import DeviceDisconnected, DeviceError, DeviceUnavailable, Reading
from firmware_sim.ble import SimulatedAir

ZONE = ZoneInfo("Asia/Shanghai")
FAST = BlePolicy(
    connect_attempts=2,
    slot_wait_s=5,
    gatt_timeout_s=2,
    measurement_timeout_s=0.5,
    racp_timeout_s=0.5,
    idle_disconnect_s=0.5,
    continuous_interval_s=0,
)
"""Short waits so that timeouts happen within a test's seconds."""
STOP_TIMEOUT_S = 10.0
LINGER = BlePolicy(
    connect_attempts=2, slot_wait_s=5, gatt_timeout_s=2, measurement_timeout_s=1.0, idle_disconnect_s=10
)
"""Stays connected to an idle device, for tests that act while connected."""


async def eventually(
    condition: Callable[[], Any], timeout: float = 5.0, what: str | Callable[[], str] = "condition"
) -> Any:
    """Poll ``condition`` on the event loop until it is truthy; ``TimeoutError`` naming ``what``
    (a callable is asked at the timeout, so it can describe the state then)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"timed out after {timeout}s waiting for {what if isinstance(what, str) else what()}"
            )
        await asyncio.sleep(0.01)


class EdgeStandIn:
    """Runs a driver as ``edge.supervisor`` does, minus the backoff (the test is the clock).

    ``refuse`` names readings the "outbox" fails to store (the driver hears ``reject``).
    ``last_glucose_sequence`` answers from what was stored, as the edge answers from its database.
    """

    def __init__(self, refuse: Callable[[Reading], bool] = lambda reading: False) -> None:
        self.stored: list[Reading] = []
        self.errors: list[DeviceError] = []
        self.refused: list[Reading] = []
        self._refuse = refuse

    def last_glucose_sequence(self, address: str) -> int | None:
        numbers = [
            ref[1]
            for reading in self.stored
            if (ref := parse_glucose_ref(reading.source_ref)) is not None and ref[0] == address
        ]
        return max(numbers, default=None)

    async def run(self, driver: BleHealthDriver) -> None:
        try:
            while True:
                try:
                    await driver.open()
                    async for message in driver.messages():
                        reading = message.readings[0]
                        if self._refuse(reading):
                            self.refused.append(reading)
                            await message.reject("storage")
                            continue
                        self.stored.extend(message.readings)
                        await message.accept()
                except (DeviceUnavailable, DeviceDisconnected) as exc:
                    self.errors.append(exc)
                    await driver.close()
        finally:
            await driver.close()

    async def readings(self, count: int, timeout: float = 5.0) -> list[Reading]:
        await eventually(
            lambda: len(self.stored) >= count,
            timeout,
            lambda: f"{count} readings (have {len(self.stored)}; errors {self.errors})",
        )
        return self.stored

    async def error(self, kind: type[DeviceError], timeout: float = 5.0) -> DeviceError:
        found = await eventually(
            lambda: next((exc for exc in self.errors if isinstance(exc, kind)), None),
            timeout,
            lambda: f"a {kind.__name__} (errors {self.errors})",
        )
        assert isinstance(found, DeviceError)
        return found


class Gateway:
    """Drivers of one test on one simulated air, run until the test ends."""

    def __init__(self, air: SimulatedAir, slots: ConnectionSlots | None = None) -> None:
        self.air = air
        self.slots = slots or ConnectionSlots(3)
        self.rejects: list[str] = []
        self._tasks: list[asyncio.Task[None]] = []

    def driver(
        self,
        profile: str,
        addresses: Collection[str],
        *,
        device_id: str = "dev",
        policy: BlePolicy = FAST,
        edge: EdgeStandIn | None = None,
        **options: Any,
    ) -> BleHealthDriver:
        if profile == "glucose_meter" and edge is not None:
            options.setdefault("last_glucose_sequence", edge.last_glucose_sequence)
        return BleHealthDriver(
            device_id=device_id,
            profile=profile,
            addresses=addresses,
            timezone=ZONE,
            on_rejected=self.rejects.append,
            slots=self.slots,
            policy=policy,
            client_backend=self.air.client_backend,
            scanner_backend=self.air.scanner_backend,
            **options,
        )

    def run(self, profile: str, addresses: Collection[str], **options: Any) -> EdgeStandIn:
        """Start a driver under an ``EdgeStandIn``; returns the stand-in to watch."""
        edge = options.pop("edge", None) or EdgeStandIn()
        driver = self.driver(profile, addresses, edge=edge, **options)
        self._tasks.append(asyncio.get_running_loop().create_task(edge.run(driver)))
        return edge

    async def stop(self) -> None:
        """Cancels until every driver task has ended: a task that swallowed a cancellation (Python
        3.11's ``wait_for`` can) fails the test by name instead of hanging the suite."""
        pending = {task for task in self._tasks if not task.done()}
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while pending and time.monotonic() < deadline:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.5)
        if pending:
            raise RuntimeError(f"driver tasks still running after cancellation: {pending}")
        self.air.shut_down()
        for task in self._tasks:
            failure = None if task.cancelled() else task.exception()
            if failure is not None:
                raise failure


def now_utc() -> datetime:
    return datetime.now(UTC)
