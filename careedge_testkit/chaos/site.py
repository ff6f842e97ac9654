"""One care home and its cloud on loopback, every part a real process that can be killed.

Kiosk simulators on pseudo-terminals feed one edge daemon; the edge reaches Mosquitto through a
``LinkProxy`` (its uplink, which can be cut); bridges on one MQTT v5 shared subscription share one
relational store and write to VictoriaMetrics. Each bridge keeps a stable client ID, because
Mosquitto 2.0 holds a dead shared-subscription member's messages in its session until that same
client ID connects again: the surviving bridge takes the killed one's session over meanwhile
(``cloud_bridge.takeover``), and the killed one takes it back when it restarts.
"""

from __future__ import annotations

import json
import math
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from prometheus_client.parser import text_string_to_metric_families

from careedge_common.pseudonym import Pseudonymiser
from careedge_testkit.chaos.proxy import LinkProxy
from careedge_testkit.chaos.schedule import EDGE
from careedge_testkit.processes import Daemon, write_config
from careedge_testkit.servers import LOOPBACK, Mosquitto, VictoriaMetrics, free_port, wait_until
from firmware_sim.kiosk import KioskSimulator
from firmware_sim.kiosk.messages import SESSION_SIZE_WEIGHTS, TRANSMIT_DELAY_S
from firmware_sim.kiosk.vitals import PANELS

SITE, GATEWAY = "home-chaos", "gw-1"
FACILITY = "SUNRISE_CARE"
"""The kiosks' assigning authority in PID-3.4, part of each pseudonym's input."""
BRIDGES = ("bridge-a", "bridge-b")
KIOSK_INTERVAL_S = 0.1
LONGEST_SESSION_S = TRANSMIT_DELAY_S + sum(
    sorted(panel.duration_s for panel in PANELS.values())[-(len(SESSION_SIZE_WEIGHTS) - 1) :]
)
"""How far before sending a kiosk message's first station can lie (its later stations' durations)."""
RESIDENTS_PER_KIOSK = math.ceil(2 * LONGEST_SESSION_S / KIOSK_INTERVAL_S)
"""So many that a resident's next turn at a kiosk comes only after twice the longest session, even
at the kiosk's fastest pace: two sessions of one resident never overlap in time, so no two readings
share a store key (device, resident, code, second) and hide each other's loss. (Seen with 200:
a resident back after 25 s had a station time equal to one of 10 s before.)"""
KIOSK_ACK_TIMEOUT_S = 2.0
KIOSK_RESEND_BACKOFF_S = 0.2
KIOSK_MAX_RESENDS = 1_000_000
"""The kiosk keeps resending through any outage, so every message ends acknowledged."""
STARTUP_TIMEOUT_S = 60.0
HTTP_TIMEOUT_S = 2.0
SINK_TIMEOUT_MS = 2000
"""Short, so a paused time-series server makes writes fail and be retried, not just wait."""
GAP_GRACE_S = 2.0
"""Bridges ask for a replay of a missing seq this soon (DESIGN §4), and the edge publishes again
what is still above the watermark after ``TAIL_GRACE_S``: short, so a run settles in seconds."""
REPLAY_RETRY_S = 4.0
TAIL_GRACE_S = 4.0
WATERMARK_REFRESH_S = 3.0
"""A watermark the broker lost in a kill is published again this soon."""
NO_REPLAY_GRACE_S = 86_400.0
"""Gap and tail grace when a run is made without the delivery check: longer than any run, so no
replay is ever asked for or made and what a broker kill loses stays lost."""
THRESHOLDS = [
    {"code": "8480-6", "yellow_above": 139, "red_above": 180},
    {"code": "59408-5", "yellow_below": 94, "red_below": 90},
]


class ChaosSite:
    """Starts every part on ``start`` (kiosks sending, edge and bridges connected) and stops them all,
    whatever state they were left in, on ``stop``."""

    def __init__(
        self,
        workdir: Path,
        *,
        seed: int,
        kiosks: int = 2,
        bridges: Sequence[str] = BRIDGES,
        replay: bool = True,
    ) -> None:
        """``replay=False`` stretches the delivery check's graces beyond the run (DESIGN §4's watermark
        and replay never act), to show what the faults cost without it."""
        self.workdir = workdir
        self.replay = replay
        self.bridge_names = tuple(bridges)
        self._stack = ExitStack()
        secret = workdir / "site.key"
        secret.write_bytes(secrets.token_bytes(32))
        self.pseudonymiser = Pseudonymiser(secret.read_bytes())
        self._secret = secret
        self.outbox_path = workdir / "edge" / "edge.db"
        self.store_path = workdir / "shared" / "bridge.db"
        self.kiosks = {
            f"kiosk-{index + 1}": KioskSimulator(
                residents=RESIDENTS_PER_KIOSK,
                interval=KIOSK_INTERVAL_S,
                seed=seed * 100 + index,
                link=workdir / f"kiosk-{index + 1}.tty",
                ack_timeout=KIOSK_ACK_TIMEOUT_S,
                resend_backoff=KIOSK_RESEND_BACKOFF_S,
                max_resends=KIOSK_MAX_RESENDS,
                facility=FACILITY,
            )
            for index in range(kiosks)
        }
        self.broker = Mosquitto()
        self.tsdb = VictoriaMetrics()
        self.uplink = LinkProxy(self.broker.port)
        self.edge_api = free_port()
        self.bridge_apis = {name: free_port() for name in self.bridge_names}
        self.edge = Daemon("edge", self._edge_config())
        self.bridges = {name: Daemon("bridge", self._bridge_config(name)) for name in self.bridge_names}

    def start(self) -> Self:
        try:
            self._stack.enter_context(self.broker)
            self._stack.enter_context(self.tsdb)
            self._stack.enter_context(self.uplink)
            for kiosk in self.kiosks.values():
                self._stack.enter_context(kiosk)
            for bridge in self.bridges.values():
                self._stack.enter_context(bridge)
            self._stack.enter_context(self.edge)
            wait_until(self.all_connected, STARTUP_TIMEOUT_S, "edge and bridges connected")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Resume a paused server first: a stopped process cannot act on SIGTERM. Then every part is
        stopped again directly, for those a failed ``start`` never reached (each stop is idempotent)."""
        if self.tsdb.process is not None and self.tsdb.process.poll() is None:
            self.tsdb.resume()
        self._stack.close()
        for daemon in (self.edge, *self.bridges.values()):
            daemon.kill()
        for kiosk in self.kiosks.values():
            kiosk.stop()
        self.uplink.stop()
        self.broker.cleanup()
        self.tsdb.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def all_connected(self) -> bool:
        return self.edge_connected() and all(self.bridge_connected(name) for name in self.bridge_names)

    def edge_connected(self) -> bool:
        return bool(self._health(self.edge_api).get("mqtt_connected"))

    def bridge_connected(self, name: str) -> bool:
        return bool(self._health(self.bridge_apis[name]).get("mqtt_connected"))

    def metrics(self, daemon: str, samples: Iterable[str]) -> dict[str, float]:
        """Each sample's value (summed over its labels) from the edge's or a bridge's /metrics;
        empty when the daemon does not answer."""
        port = self.edge_api if daemon == EDGE else self.bridge_apis[daemon]
        try:
            text = _get(port, "/metrics").decode()
        except OSError:
            return {}
        wanted = set(samples)
        values = dict.fromkeys(wanted, 0.0)
        for family in text_string_to_metric_families(text):
            for found in family.samples:
                if found.name in wanted:
                    values[found.name] += found.value
        return values

    def _health(self, port: int) -> dict[str, Any]:
        """The health document whatever the status code (503 still says which part is failing)."""
        try:
            body = _get(port, "/health")
        except urllib.error.HTTPError as error:
            body = error.read()
        except OSError:
            return {}
        document = json.loads(body)
        return document if isinstance(document, dict) else {}

    def _common(self, broker_port: int) -> dict[str, Any]:
        return {
            "site": {"id": SITE, "timezone": "Asia/Shanghai"},
            "broker": {"insecure": True, "port": broker_port, "keepalive_s": 5},
            "alerts": {"thresholds": THRESHOLDS},
        }

    def _edge_config(self) -> Path:
        return write_config(
            self.workdir / "edge.yaml",
            {
                **self._common(self.uplink.port),
                "gateway": {
                    "id": GATEWAY,
                    "data_dir": str(self.outbox_path.parent),
                    "pseudonym_secret_file": str(self._secret),
                    "api": {"port": self.edge_api},
                    "replay": {"tail_grace_s": TAIL_GRACE_S if self.replay else NO_REPLAY_GRACE_S},
                },
                "devices": [
                    {"id": device, "kind": "hl7_kiosk", "port": str(kiosk.device_path), "ack_timeout_s": 3}
                    for device, kiosk in self.kiosks.items()
                ],
            },
        )

    def _bridge_config(self, name: str) -> Path:
        return write_config(
            self.workdir / f"{name}.yaml",
            {
                **self._common(self.broker.port),
                "bridge": {
                    "client_id": name,
                    "sink": {
                        "kind": "influxdb",
                        "url": self.tsdb.url,
                        "org": "district",
                        "bucket": "careedge",
                        "timeout_ms": SINK_TIMEOUT_MS,
                    },
                    "store_path": str(self.store_path),
                    "api": {"port": self.bridge_apis[name]},
                    "batch_wait_ms": 20,
                    "delivery": {
                        "gap_grace_s": GAP_GRACE_S if self.replay else NO_REPLAY_GRACE_S,
                        "replay_retry_s": REPLAY_RETRY_S,
                        "watermark_refresh_s": WATERMARK_REFRESH_S,
                    },
                },
            },
        )


def _get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://{LOOPBACK}:{port}{path}", timeout=HTTP_TIMEOUT_S) as response:
        return bytes(response.read())
