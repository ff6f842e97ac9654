"""The bridge tells systemd it is ready only once the broker granted its subscription, feeds the
watchdog while its writer turns, and says when it stops."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from cloud_bridge_kit import PULSE, SYSTOLIC, TestClient, envelope, site_config, vitals_topic

from careedge_testkit.notify_socket import NotifySocket
from careedge_testkit.processes import Daemon, write_config
from careedge_testkit.servers import Mosquitto, free_port

WATCHDOG_S = 0.4
NOT_READY_WITHOUT_BROKER_S = 1.0
"""How long the bridge is watched for a premature READY=1 while no broker listens."""
SILENCE_S = 1.5
"""A gap between keep-alives this long (almost four intervals) means the bridge stopped feeding."""


def test_ready_waits_for_the_subscription_then_watchdog_then_stopping(tmp_path: Path) -> None:
    broker = Mosquitto()
    config = write_config(
        tmp_path / "bridge.yaml",
        {
            "site": {"id": "home-n"},
            "broker": {"insecure": True, "port": broker.port, "keepalive_s": 5},
            "bridge": {
                "sink": {"kind": "sqlite", "path": str(tmp_path / "points.db")},
                "store_path": str(tmp_path / "bridge.db"),
                "api": {"port": free_port()},
            },
        },
    )
    with NotifySocket() as notify:
        bridge = Daemon("bridge", config, env=notify.environment(WATCHDOG_S)).start()
        try:
            # Keep-alives show the bridge is up; no READY=1 among them while no broker listens.
            assert "READY=1" not in notify.wait_for("WATCHDOG=1", 30)
            assert "READY=1" not in notify.collect(NOT_READY_WITHOUT_BROKER_S)
            broker.start()
            notify.wait_for("READY=1", 30)
            for _ in range(3):
                notify.wait_for("WATCHDOG=1", 5)
            assert bridge.stop() == 0, bridge.log()
            assert "READY=1" not in notify.wait_for("STOPPING=1", 5)
        finally:
            bridge.stop()
            broker.cleanup()


def _silence(notify: NotifySocket, within_s: float) -> bool:
    """Whether the keep-alives pause for ``SILENCE_S`` at some point in the next ``within_s``."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if notify.receive(SILENCE_S) is None:
            return True
    return False


def test_a_writer_stuck_in_the_sink_stops_the_keep_alives(tmp_path: Path, mosquitto: Mosquitto) -> None:
    config = site_config(tmp_path, mosquitto)
    config_file = write_config(tmp_path / "bridge.yaml", config.model_dump(mode="json", exclude_none=True))
    gateway = TestClient(mosquitto)
    with NotifySocket() as notify:
        bridge = Daemon("bridge", config_file, env=notify.environment(WATCHDOG_S)).start()
        lock = sqlite3.connect(tmp_path / "points.db", isolation_level=None)
        try:
            notify.wait_for("READY=1", 30)
            assert not _silence(notify, within_s=2.0), "keep-alives paused while the writer was idle"
            # Another process holds the sink's write lock: the writer waits inside the sink's call.
            lock.execute("BEGIN EXCLUSIVE")
            gateway.publish(vitals_topic(), envelope((SYSTOLIC, 128), (PULSE, 70)))
            assert _silence(notify, within_s=10.0), bridge.log()
            lock.execute("ROLLBACK")
            notify.wait_for("WATCHDOG=1", 10)
        finally:
            lock.close()
            gateway.close()
            bridge.stop()
