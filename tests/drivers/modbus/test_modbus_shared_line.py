"""Two cabinet models on one RS-485 line: one bus (one port, one request queue), two unit IDs."""

from __future__ import annotations

import asyncio

import pytest
from modbus_rig import PROFILES

from careedge_common.config import DeviceConfig
from drivers.modbus.cabinet import ModbusBus, ModbusCabinet, bus_key
from drivers.modbus.profile import load_profile
from firmware_sim.cabinet.model import CabinetModel
from firmware_sim.cabinet.server import CabinetServer, CabinetSimulator

EXPECTED_POLL_REQUESTS = {1: 7, 7: 10}
"""Per unit ID: the contiguous ranges of sim-cabinet.yaml (unit 1) and medtower-12.yaml (unit 7)."""


def _device(device_id: str, profile: str, port: str) -> DeviceConfig:
    return DeviceConfig.model_validate(
        {
            "id": device_id,
            "kind": "modbus_cabinet",
            "transport": "modbus_rtu",
            "port": port,
            "modbus": {"profile": profile, "timeout_s": 0.5},
        }
    )


async def test_two_models_on_one_line_share_a_bus_and_answer_by_unit_id() -> None:
    small = CabinetModel(load_profile(PROFILES / "sim-cabinet.yaml"), seed=1)
    tower = CabinetModel(load_profile(PROFILES / "medtower-12.yaml"), seed=2)
    with CabinetSimulator(small, tcp_port=None, others=[tower]) as line:
        port = str(line.device_path)
        devices = [
            _device("cab-small", "sim-cabinet.yaml", port),
            _device("cab-tower", "medtower-12.yaml", port),
        ]
        assert bus_key(devices[0]) == bus_key(devices[1]) == f"rtu:{port}"
        bus = ModbusBus.for_device(devices[0])
        first, second = (ModbusCabinet.from_config(device, PROFILES, bus=bus) for device in devices)
        bus.start()
        try:
            one, two = await asyncio.gather(first.poll(), second.poll())
            await second.unlock_slot(12)
        finally:
            await bus.stop()
    assert (len(one.slot_count), len(two.slot_count)) == (8, 12)
    assert tower.is_unlocked(12)
    assert not small.is_unlocked(8)
    assert len(small.served) == EXPECTED_POLL_REQUESTS[1]
    assert len(tower.served) == EXPECTED_POLL_REQUESTS[7] + 2, "its poll, the unlock and its read-back"


def test_two_controllers_with_one_unit_id_on_a_line_are_refused() -> None:
    profile = load_profile(PROFILES / "sim-cabinet.yaml")
    with pytest.raises(ValueError, match=r"one unit ID per controller on a line, found \[1, 1\]"):
        CabinetServer(CabinetModel(profile), tcp_port=None, others=[CabinetModel(profile)])
