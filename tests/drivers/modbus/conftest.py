"""Fixtures: a driver and a simulated cabinet per test, with both profiles, TCP and RTU."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from modbus_rig import PROFILE_FILES, Rig, start_rig, stop_rig


@pytest.fixture(
    params=[(path, transport) for path in PROFILE_FILES for transport in ("tcp", "rtu")],
    ids=lambda param: f"{param[0].stem}-{param[1]}",
)
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    started = await start_rig(*request.param)
    try:
        yield started
    finally:
        await stop_rig(started)


@pytest.fixture(params=PROFILE_FILES, ids=lambda path: path.stem)
async def tcp_rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    started = await start_rig(request.param, "tcp")
    try:
        yield started
    finally:
        await stop_rig(started)
