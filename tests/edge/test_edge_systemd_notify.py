"""The edge tells systemd it is ready, keeps its watchdog fed from its event loop, and says when it
stops; a blocked event loop stops the keep-alives (so systemd would restart the daemon)."""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path

import pytest

from careedge_common.config import SiteConfig
from careedge_common.pseudonym import Pseudonymiser
from careedge_testkit.notify_socket import NotifySocket
from careedge_testkit.processes import Daemon, write_config
from careedge_testkit.servers import free_port
from edge.daemon import EdgeDaemon
from edge.residents import EMPTY_ROSTER

WATCHDOG_S = 0.4
"""systemd's WatchdogSec in these tests: the edge sends a keep-alive every 0.2 s."""


def _config_document(tmp_path: Path) -> dict[str, object]:
    """No devices and no broker listening: the edge must be ready without either."""
    secret = tmp_path / "secret.key"
    secret.write_bytes(secrets.token_bytes(32))
    return {
        "site": {"id": "home-n", "timezone": "UTC"},
        "broker": {"insecure": True, "port": free_port(), "keepalive_s": 5},
        "gateway": {
            "id": "gw-1",
            "data_dir": str(tmp_path / "data"),
            "pseudonym_secret_file": str(secret),
            "api": {"port": free_port()},
        },
    }


def test_process_says_ready_then_feeds_the_watchdog_then_says_stopping(tmp_path: Path) -> None:
    config = write_config(tmp_path / "edge.yaml", _config_document(tmp_path))
    with NotifySocket() as notify:
        edge = Daemon("edge", config, env=notify.environment(WATCHDOG_S)).start()
        try:
            before_ready = notify.wait_for("READY=1", 30)
            after_ready = [notify.wait_for("WATCHDOG=1", 5) for _ in range(3)]
            assert edge.stop() == 0, edge.log()
            stopping = notify.wait_for("STOPPING=1", 5)
        finally:
            edge.stop()
    assert set(before_ready) <= {"READY=1", "WATCHDOG=1"}
    assert all(seen[-1] == "WATCHDOG=1" for seen in after_ready)
    assert "READY=1" not in stopping


def test_without_watchdog_setting_only_ready_and_stopping_are_sent(tmp_path: Path) -> None:
    config = write_config(tmp_path / "edge.yaml", _config_document(tmp_path))
    with NotifySocket() as notify:
        edge = Daemon("edge", config, env=notify.environment()).start()
        try:
            assert notify.wait_for("READY=1", 30) == ["READY=1"]
            assert edge.stop() == 0, edge.log()
            assert notify.wait_for("STOPPING=1", 5) == ["STOPPING=1"]
        finally:
            edge.stop()


async def _next_notification(notify: NotifySocket, timeout: float) -> list[str]:
    """Lets the event loop run while waiting, unlike ``NotifySocket.receive``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        received = notify.drain()
        if received:
            return received
        await asyncio.sleep(0.01)
    raise TimeoutError(f"no notification within {timeout}s")


async def test_a_blocked_event_loop_stops_the_keep_alives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with NotifySocket() as notify:
        for name, value in notify.environment(WATCHDOG_S).items():
            monkeypatch.setenv(name, value)
        config = SiteConfig.model_validate(_config_document(tmp_path))
        daemon = EdgeDaemon(config, Pseudonymiser(secrets.token_bytes(32)), EMPTY_ROSTER)
        serving = asyncio.create_task(daemon.serve())
        try:
            while "READY=1" not in await _next_notification(notify, 30):
                pass
            assert "WATCHDOG=1" in await _next_notification(notify, 5)
            notify.drain()
            # This test runs on the daemon's loop: blocking here blocks the daemon, as a stuck call would.
            blocked_for = 5 * WATCHDOG_S
            assert notify.receive(timeout=blocked_for) is None, "a keep-alive came from a blocked loop"
            assert "WATCHDOG=1" in await _next_notification(notify, 5)
        finally:
            daemon.stop()
            await serving
