"""A simulated cabinet (its own thread and event loop) and the driver talking to it over real
Modbus: TCP on a loopback port or RTU across a null-modem pair of pseudo-terminals; waiting helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from careedge_common.config import SerialSettings
from careedge_testkit.servers import free_port
from drivers.modbus.cabinet import ModbusBus, ModbusCabinet
from drivers.modbus.link import LinkPolicy, ModbusLink, rtu_client, tcp_client
from drivers.modbus.profile import load_profile
from firmware_sim.cabinet.model import CabinetModel
from firmware_sim.cabinet.server import CabinetSimulator

PROFILES = Path(__file__).resolve().parents[3] / "config" / "profiles"
PROFILE_FILES = sorted(PROFILES.glob("*.yaml"))
POLICY = LinkPolicy(timeout_s=0.3, retries=1, reconnect_initial_s=0.05, reconnect_max_s=0.2)
RELOCK_S = 30.0
WAIT_S = 10.0
T = TypeVar("T")


class FakeClock:
    """The simulated cabinet's clock: tests move time on instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Rig:
    model: CabinetModel
    simulator: CabinetSimulator
    cabinet: ModbusCabinet
    link: ModbusLink
    clock: FakeClock
    transport: str


async def start_rig(profile_file: Path, transport: str) -> Rig:
    profile = load_profile(profile_file)
    clock = FakeClock()
    model = CabinetModel(profile, relock_after_s=RELOCK_S, seed=7, clock=clock)
    port = free_port() if transport == "tcp" else None
    simulator = CabinetSimulator(model, tcp_port=port)
    simulator.start()
    make_client = (
        tcp_client("127.0.0.1", port)
        if port is not None
        else rtu_client(str(simulator.device_path), SerialSettings())
    )
    link = ModbusLink(make_client, POLICY, profile.model)
    bus = ModbusBus(link, profile.model)
    bus.start()
    return Rig(model, simulator, ModbusCabinet(profile, bus, name=profile.model), link, clock, transport)


async def stop_rig(rig: Rig) -> None:
    await rig.cabinet.bus.stop()
    rig.simulator.stop()


async def eventually(attempt: Callable[[], Awaitable[T]], what: str, timeout: float = WAIT_S) -> T:
    """The first result of ``attempt`` that does not raise, tried until ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await attempt()
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}") from None
        await asyncio.sleep(0.05)


async def until(
    condition: Callable[[], bool], what: str, timeout: float = WAIT_S, interval: float = 0.01
) -> None:
    """Wait for ``condition``; ``interval`` 0 checks at every turn of the event loop (to catch a
    state that lasts only until the next request completes)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)
