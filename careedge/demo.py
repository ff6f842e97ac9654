"""``careedge demo``: the whole path on one machine, with nothing installed but this package.

An embedded MQTT broker (amqtt) runs in this process; the bridge (SQLite sink) and the edge run as
child processes with the very commands a site runs; simulated kiosks speak HL7 over MLLP on
pseudo-terminals. The demo watches the broker and prints readings and alerts as they flow, and
on stopping waits until every reading a kiosk was acknowledged is stored before it counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from paho.mqtt.enums import MQTTProtocolVersion

from careedge.embedded_broker import LOOPBACK, EmbeddedBroker
from careedge_common import topics
from careedge_common.access.tokens import TokenFile
from careedge_common.codes import BY_CODE
from careedge_testkit.mqtt_capture import Captured, MqttCapture
from firmware_sim.kiosk import FaultRates, KioskSimulator, UnitsMode
from firmware_sim.kiosk.residents import Resident, ResidentFileError, load_residents

SITE = "demo-home"
GATEWAY = "gw-demo"
MESSAGE_INTERVAL_S = 2.0
RESIDENTS_PER_KIOSK = 8
SETTLE_TIMEOUT_S = 60.0
START_TIMEOUT_S = 60.0

DEMO_THRESHOLDS: list[dict[str, Any]] = [
    {"code": "8480-6", "red_below": 90, "yellow_below": 100, "yellow_above": 139, "red_above": 180},
    {"code": "8462-4", "red_below": 50, "yellow_below": 60, "yellow_above": 89, "red_above": 120},
    {"code": "8867-4", "red_below": 40, "yellow_below": 50, "yellow_above": 100, "red_above": 130},
    {"code": "59408-5", "red_below": 92, "yellow_below": 94},
    {"code": "8310-5", "red_below": 35.0, "yellow_below": 36.0, "yellow_above": 37.5, "red_above": 39.0},
    {"code": "2339-0", "red_below": 3.0, "yellow_below": 3.9, "yellow_above": 11.0, "red_above": 16.7},
]


def run_demo(
    seconds: float | None, kiosks: int, residents_file: Path | None = None, keep: Path | None = None
) -> int:
    """``keep`` lets a technician (or a privacy test) look at everything the demo wrote and saw."""
    try:
        roster = load_residents(residents_file) if residents_file is not None else None
    except ResidentFileError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    if keep is not None:
        try:
            keep.mkdir(parents=True)
        except OSError as exc:
            print(f"demo: --keep needs a new directory: {keep}: {exc.strerror}", file=sys.stderr)
            return 2
    workdir = keep if keep is not None else Path(tempfile.mkdtemp(prefix="careedge-demo-"))
    try:
        summary = asyncio.run(Demo(workdir, kiosks, roster).run(seconds))
    finally:
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    return 0 if summary["readings_stored"] == summary["readings_sent"] else 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class Demo:
    def __init__(self, workdir: Path, kiosks: int, roster: list[Resident] | None = None) -> None:
        self.workdir = workdir
        self.broker_port = _free_port()
        self.bridge_api_port = _free_port()
        self.edge_api_port = _free_port()
        self.store_path = workdir / "bridge" / "bridge.db"
        self.simulators = [
            KioskSimulator(
                residents=roster if roster is not None else RESIDENTS_PER_KIOSK,
                interval=MESSAGE_INTERVAL_S,
                seed=index,
                units=UnitsMode.MIXED if index % 2 else UnitsMode.METRIC,
                abnormal=0.25,
                faults=FaultRates(garbled=0.05, truncated=0.05, silence=0.0, unplug=0.0),
                link=workdir / f"kiosk-{index + 1}.tty",
                device_id=f"KIOSK-{index + 1:02d}",
            )
            for index in range(kiosks)
        ]
        self.alerts_seen: set[str] = set()
        """IDs of alerts seen on the alerts topic (an alert is published again at each transition)."""
        self.traffic_path = workdir / "mqtt.jsonl"
        self.tokens_file = workdir / "api-tokens.json"
        self.tokens: dict[str, str] = {}
        """The demo's own API tokens by role (a nurse for the bridge, a kiosk for the page)."""

    async def run(self, seconds: float | None) -> dict[str, Any]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        started = time.monotonic()
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(EmbeddedBroker(self.broker_port))
            config = self._write_config()
            capture = MqttCapture(
                self.broker_port,
                [f"{topics.ROOT}/{SITE}/#"],
                protocol=MQTTProtocolVersion.MQTTv311,
                on_message=self._show,
            )
            # The broker runs on this loop: block only a worker thread while subscribing.
            await asyncio.to_thread(capture.start)
            stack.callback(capture.stop)
            bridge = await self._spawn("bridge", config)
            stack.push_async_callback(_terminate, bridge)
            await self._wait_until_healthy(bridge, "bridge", self.bridge_api_port)
            for simulator in self.simulators:
                simulator.open()
                stack.callback(simulator.stop)
            edge = await self._spawn("edge", config)
            stack.push_async_callback(_terminate, edge)
            await self._wait_until_healthy(edge, "edge", self.edge_api_port)
            for simulator in self.simulators:
                simulator.start()
            print(
                f"demo: broker 127.0.0.1:{self.broker_port}, bridge API "
                f"http://127.0.0.1:{self.bridge_api_port}/alerts (Authorization: Bearer "
                f"{self.tokens['nurse']}), kiosk page "
                f"http://127.0.0.1:{self.edge_api_port}/kiosk#token={self.tokens['resident_kiosk']}, "
                f"edge health http://127.0.0.1:{self.edge_api_port}/health; Ctrl-C to stop",
                flush=True,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=seconds)
            for simulator in self.simulators:
                simulator.stop()
            acknowledged = [record for simulator in self.simulators for record in simulator.acknowledged]
            # A reading is one measurement time: a kiosk session (one message) holds one per station.
            sent = sum(len({obs.observed_at for obs in record.observations}) for record in acknowledged)
            stored = await self._wait_until_stored(sent)
        return {
            "messages_acknowledged": len(acknowledged),
            "readings_sent": sent,
            "readings_stored": stored,
            "alerts": self._count("SELECT count(*) FROM alerts"),
            "alerts_published": len(self.alerts_seen),
            "seconds": round(time.monotonic() - started, 1),
        }

    def _write_config(self) -> Path:
        secret = self.workdir / "site-pseudonym.key"
        secret.write_bytes(secrets.token_bytes(32))
        secret.chmod(0o600)
        book = TokenFile(self.tokens_file)
        for role, name in (("nurse", "demo-nurse"), ("resident_kiosk", "demo-kiosk")):
            self.tokens[role] = book.create(name, role, datetime.now(UTC))
        access = {"tokens_file": str(self.tokens_file)}
        document = {
            "site": {"id": SITE, "name": "CareEdge demo 演示养老院", "timezone": "Asia/Shanghai"},
            "broker": {"insecure": True, "host": LOOPBACK, "port": self.broker_port, "protocol": "3.1.1"},
            "gateway": {
                "id": GATEWAY,
                "data_dir": str(self.workdir / "edge"),
                "pseudonym_secret_file": str(secret),
                "api": {"port": self.edge_api_port, "access": access},
            },
            "devices": [
                {
                    "id": f"kiosk-{index + 1}",
                    "kind": "hl7_kiosk",
                    "port": str(simulator.device_path),
                    "ack_timeout_s": 5,
                }
                for index, simulator in enumerate(self.simulators)
            ],
            "bridge": {
                "sink": {"kind": "sqlite", "path": str(self.workdir / "bridge" / "vitals.db")},
                "store_path": str(self.store_path),
                "api": {"port": self.bridge_api_port, "access": access},
            },
            "alerts": {"thresholds": DEMO_THRESHOLDS},
        }
        path = self.workdir / "site.yaml"
        path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    async def _spawn(self, command: str, config: Path) -> asyncio.subprocess.Process:
        log = (self.workdir / f"{command}.log").open("ab")
        try:
            return await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "careedge",
                command,
                "--config",
                str(config),
                stdout=log,
                stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        finally:
            log.close()

    async def _wait_until_healthy(self, process: asyncio.subprocess.Process, name: str, port: int) -> None:
        """The bridge's subscription must exist before the edge publishes, or the broker drops
        readings; the edge must have opened the kiosks' ports before they send, or pyserial's
        flush on open drops the first message."""
        url = f"http://{LOOPBACK}:{port}/health"
        await _poll(
            lambda: process.returncode is not None or _health_ok(url), START_TIMEOUT_S, f"{name} start"
        )
        if process.returncode is not None:
            raise RuntimeError(f"{name} exited: {(self.workdir / f'{name}.log').read_text()[-2000:]}")

    async def _wait_until_stored(self, sent: int) -> int:
        with contextlib.suppress(TimeoutError):
            await _poll(lambda: self._stored() >= sent, SETTLE_TIMEOUT_S, "readings stored")
        return self._stored()

    def _stored(self) -> int:
        return self._count("SELECT count(*) FROM processed")

    def _count(self, query: str) -> int:
        if not self.store_path.exists():
            return 0
        with contextlib.closing(sqlite3.connect(f"file:{self.store_path}?mode=ro", uri=True)) as db:
            try:
                return int(db.execute(query).fetchone()[0])
            except sqlite3.OperationalError:
                return 0

    def _show(self, message: Captured) -> None:
        with self.traffic_path.open("a", encoding="utf-8") as traffic:
            payload = message.payload.decode("utf-8", errors="backslashreplace")
            traffic.write(json.dumps({"topic": message.topic, "payload": payload}, ensure_ascii=False) + "\n")
        if not ("/vitals/" in message.topic or message.topic.endswith("/alerts")):
            return
        document = json.loads(message.payload)
        clock = time.strftime("%H:%M:%S")
        subject = (document.get("subject") or "unbound")[:10]
        if message.topic.endswith("/alerts"):
            self.alerts_seen.add(str(document.get("id")))
            colour = {"red": "红色 RED", "yellow": "黄色 YELLOW"}.get(document.get("severity", ""), "?")
            kind = BY_CODE.get(document.get("code") or "")
            what = document.get("title", "")
            if kind is not None:
                what = f"{kind.name_zh} {what}"
            transition = document.get("transition", "")
            device = document.get("device") or ""
            print(f"{clock}  !! 告警 {colour:<10} {transition:<12} {device}  {subject}  {what}", flush=True)
            return
        parts = []
        for obs in document.get("obs", []):
            kind = BY_CODE.get(obs["code"])
            parts.append(f"{kind.name_zh if kind else obs['code']} {obs['value']} {obs['unit']}")
        print(f"{clock}  {document.get('device', ''):<8} {subject}  " + " | ".join(parts), flush=True)


def _health_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback URL we built
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


async def _poll(condition: Callable[[], bool], timeout: float, what: str) -> None:
    async def loop() -> None:
        while not await asyncio.to_thread(condition):
            await asyncio.sleep(0.2)

    try:
        await asyncio.wait_for(loop(), timeout)
    except TimeoutError as exc:
        raise TimeoutError(f"timed out waiting for {what}") from exc


async def _terminate(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()
