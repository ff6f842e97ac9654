"""A simulated air and a gateway running real BLE drivers against it, for one test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from ble_gatt_harness import Gateway

from firmware_sim.ble import SimulatedAir


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    running = Gateway(SimulatedAir())
    yield running
    await running.stop()
