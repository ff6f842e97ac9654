"""The bridge tells systemd it is ready only once the broker granted its subscription, feeds the
watchdog while its writer turns, and says when it stops."""

from __future__ import annotations

from pathlib import Path

from careedge_testkit.notify_socket import NotifySocket
from careedge_testkit.processes import Daemon, write_config
from careedge_testkit.servers import Mosquitto, free_port

WATCHDOG_S = 0.4
NOT_READY_WITHOUT_BROKER_S = 1.0
"""How long the bridge is watched for a premature READY=1 while no broker listens."""


def test_ready_waits_for_the_subscription_then_watchdog_then_stopping(tmp_path: Path) -> None:
    broker = Mosquitto()
    config = write_config(
        tmp_path / "bridge.yaml",
        {
            "site": {"id": "home-n"},
            "broker": {"port": broker.port, "keepalive_s": 5},
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
