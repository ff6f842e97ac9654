"""The unit files load cleanly (``systemd-analyze verify``) and are sandboxed well enough that
``systemd-analyze security --offline=true`` rates them "OK" or better (exposure <= 2.5)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

UNITS_DIR = Path(__file__).resolve().parents[2] / "systemd"
UNITS = ["careedge-edge.service", "careedge-bridge.service"]
INSTALLED_CAREEDGE = "/opt/careedge/venv/bin/careedge"
"""Where systemd/README.md installs the command; verify checks that ExecStart exists."""
MAX_EXPOSURE = 2.5
EXPOSURE = re.compile(r"Overall exposure level for \S+: (\d+\.\d+) ")


def _as_installed_here(unit: str, tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's ``careedge``, as the install would."""
    text = (UNITS_DIR / unit).read_text(encoding="utf-8")
    assert INSTALLED_CAREEDGE in text
    here = Path(sys.executable).with_name("careedge")
    copy = tmp_path / unit
    copy.write_text(text.replace(INSTALLED_CAREEDGE, str(here)), encoding="utf-8")
    return copy


def _analyze(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("unit", UNITS)
def test_unit_verifies_without_warnings(unit: str, tmp_path: Path) -> None:
    result = _analyze("verify", str(_as_installed_here(unit, tmp_path)))
    assert result.returncode == 0, result.stderr
    assert unit not in result.stderr, result.stderr


@pytest.mark.parametrize("unit", UNITS)
def test_unit_exposure_is_ok_or_better(unit: str) -> None:
    result = _analyze("security", "--offline=true", str(UNITS_DIR / unit))
    output = result.stdout + result.stderr
    found = EXPOSURE.search(output)
    assert found is not None, output
    assert float(found.group(1)) <= MAX_EXPOSURE, output


@pytest.mark.parametrize("unit", UNITS)
def test_unit_is_notify_with_watchdog_and_unprivileged(unit: str) -> None:
    lines = set((UNITS_DIR / unit).read_text(encoding="utf-8").splitlines())
    assert {"Type=notify", "User=careedge", "NoNewPrivileges=yes", "ProtectSystem=strict"} <= lines
    assert any(line.startswith("WatchdogSec=") for line in lines)


def test_only_the_edge_gets_device_groups() -> None:
    edge = (UNITS_DIR / "careedge-edge.service").read_text(encoding="utf-8")
    bridge = (UNITS_DIR / "careedge-bridge.service").read_text(encoding="utf-8")
    assert "SupplementaryGroups=dialout bluetooth" in edge.splitlines()
    assert "SupplementaryGroups" not in bridge
