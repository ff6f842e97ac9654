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

PROFILES = Path(__file__).resolve().parents[2] / "config" / "profiles"
WAIT_S = 10.0


def _start(*options: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "careedge", "sim", "cabinet", *options],
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
