"""``careedge sim cabinet``: prints where it listens, answers the driver, summarises on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from careedge_common.config import DeviceConfig
from careedge_testkit.servers import free_port
from drivers.modbus.cabinet import ModbusCabinet
from drivers.modbus.errors import DeviceTimeout

PROFILES = Path(__file__).resolve().parents[2] / "config" / "profiles"
WAIT_S = 10.0


def _start(*options: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "careedge", "sim", "cabinet", *options],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    endpoint = process.stdout.readline().strip()
    if not endpoint:
        _, err = process.communicate(timeout=WAIT_S)
        raise AssertionError(f"the simulator printed no endpoint: {err}")
    return process, endpoint


def _finish(process: subprocess.Popen[str]) -> dict[str, object]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=WAIT_S)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("transport", ["tcp", "rtu"])
async def test_the_simulator_serves_the_driver_from_its_own_process(transport: str, tmp_path: Path) -> None:
    port = free_port()
    options = ["--tcp", str(port)] if transport == "tcp" else ["--rtu"]
    process, endpoint = _start("--profile", str(PROFILES / "medtower-12.yaml"), *options)
    try:
        if transport == "tcp":
            assert endpoint == f"127.0.0.1:{port}"
            device = {
                "transport": "modbus_tcp",
                "modbus": {"profile": "medtower-12.yaml", "host": "127.0.0.1", "tcp_port": port},
            }
        else:
            assert endpoint.startswith("/dev/pts/")
            device = {"transport": "modbus_rtu", "port": endpoint, "modbus": {"profile": "medtower-12.yaml"}}
        config = DeviceConfig.model_validate({"id": "cab-1", "kind": "modbus_cabinet", **device})
        cabinet = ModbusCabinet.from_config(config, PROFILES)
        cabinet.bus.start()
        try:
            snapshot = await cabinet.poll()
        finally:
            await cabinet.bus.stop()
        assert snapshot.slot_count == (28,) * 12
    finally:
        summary = _finish(process)
    assert summary == {"event": "summary", "answered": len(cabinet.read_plan), "unanswered": 0}


def _command(process: subprocess.Popen[str], line: str) -> dict[str, object]:
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(line + "\n")
    process.stdin.flush()
    return json.loads(process.stdout.readline())


async def test_typed_commands_play_the_resident_and_the_faults() -> None:
    port = free_port()
    process, _ = _start("--profile", str(PROFILES / "sim-cabinet.yaml"), "--tcp", str(port))
    try:
        config = DeviceConfig.model_validate(
            {
                "id": "cab-1",
                "kind": "modbus_cabinet",
                "transport": "modbus_tcp",
                "modbus": {
                    "profile": "sim-cabinet.yaml",
                    "host": "127.0.0.1",
                    "tcp_port": port,
                    "timeout_s": 0.3,
                    "retries": 0,
                },
            }
        )
        cabinet = ModbusCabinet.from_config(config, PROFILES)
        cabinet.bus.start()
        try:
            assert _command(process, "open_drawer 3") == {
                "event": "refused",
                "line": "open_drawer 3\n",
                "reason": "drawer 3 is locked",
            }
            await cabinet.unlock_slot(3)
            for line in ("open_drawer 3", "take_doses 3 2", "close_drawer 3", "push_temperature fridge 11.5"):
                assert _command(process, line) == {"event": "done", "command": line}
            snapshot = await cabinet.poll()
            assert (snapshot.slot_count[2], snapshot.temperature_c["fridge"]) == (26, 11.5)
            assert _command(process, "power_off")["event"] == "done"
            with pytest.raises(DeviceTimeout):
                await cabinet.read_slot(1)
            assert _command(process, "warp 9")["event"] == "refused"
        finally:
            await cabinet.bus.stop()
    finally:
        summary = _finish(process)
    assert summary["unanswered"] == 1


def test_tcp_and_rtu_together_are_refused() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "careedge",
            "sim",
            "cabinet",
            "--profile",
            str(PROFILES / "sim-cabinet.yaml"),
            "--tcp",
            "1502",
            "--rtu",
        ],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=False,
    )
    assert result.returncode == 2
    assert "exactly one of --tcp PORT and --rtu" in result.stderr
