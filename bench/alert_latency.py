"""Alert latency: time from a kiosk's ACK (the edge has committed the reading) to the alert on the
site's MQTT alerts topic, at a light and at a heavy load of readings.

Runs alone: ``.venv/bin/python bench/alert_latency.py [--rates 1 1000] [--seconds 20] [--edges 1]``.
Real parts: Mosquitto, VictoriaMetrics, one ``careedge bridge`` process and ``--edges``
``careedge edge`` processes (one per gateway of the site, as a district bridge receives them),
each reading its own HL7 kiosk simulators on pseudo-terminals. A reading is one observation (one
stored point), as in ``bench/bridge_ingest.py`` and the chaos report; every kiosk message here is a
blood-pressure measurement (one envelope) carrying three: systolic, diastolic and pulse. Messages
per second are reported too.

Two kinds of kiosks: *load* kiosks send normal readings as fast as the target rate asks (their
residents rarely alert), and one *probe* kiosk sends an abnormal reading for a new resident every
``PROBE_INTERVAL_S``, so each probe raises exactly one alert whose subject names it. The latency
of a probe is the wall-clock time from its ACK arriving at the kiosk to the ``raised`` alert for
its subject arriving at a subscriber of the alerts topic (one machine, one clock). The probe kiosk
is on the first gateway; the load kiosks are dealt out over all of them.

Beside the latencies it prints the CPU each daemon used while the kiosks were sending (from
``/proc``, Linux only), and this process's own (the kiosk simulators), as a share of one core,
and how many kiosk messages each edge stored per outbox commit (its metrics).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from careedge_common import topics
from careedge_common.pseudonym import Pseudonymiser
from careedge_testkit.mqtt_capture import Captured, MqttCapture
from careedge_testkit.processes import Daemon, write_config
from careedge_testkit.servers import Mosquitto, VictoriaMetrics, free_port, wait_until
from firmware_sim.kiosk import DeliveryOutcome, KioskSimulator, MeasurementKind

SITE, FACILITY = "home-bench", "SUNRISE_CARE"
PROBE_INTERVAL_S = 0.25
READINGS_PER_MESSAGE = 3
"""Systolic, diastolic and pulse: the blood-pressure panel every kiosk here sends."""
PROBES_MAX = 10_000
DEFAULT_LOAD_KIOSKS = 16
LOAD_RESIDENTS = 200
EDGE_DRAIN_RATE_PER_S = 10_000.0
"""The edge's publish limit (``gateway.outbox.drain_rate_per_s``, default 200/s) exists to spread
a backlog after an outage; a gateway whose live rate is above it only builds a backlog. Set far
above any rate the bench offers, so alerts measure the path, not the limit."""
THRESHOLDS = [
    {"code": "8480-6", "yellow_above": 139, "red_above": 180, "yellow_below": 90, "red_below": 70},
    {"code": "8462-4", "yellow_above": 89, "red_above": 120, "yellow_below": 50},
    {"code": "8867-4", "yellow_above": 100, "red_above": 130, "yellow_below": 50, "red_below": 40},
]


@dataclass
class Timings:
    acked: dict[str, float]
    """Probe subject → wall-clock time of its kiosk's ACK."""
    alerted: dict[str, float]
    """Subject → wall-clock time its first ``raised`` alert reached the subscriber."""
    lock: threading.Lock


def _kiosk(workdir: Path, name: str, **options: Any) -> KioskSimulator:
    return KioskSimulator(
        kinds=[MeasurementKind.BLOOD_PRESSURE],
        link=workdir / f"{name}.tty",
        ack_timeout=5,
        facility=FACILITY,
        device_id=name.upper(),
        max_records=1000,
        **options,
    )


@dataclass(frozen=True)
class Site:
    bridge: Path
    bridge_api: int
    edges: list[tuple[Path, int, int]]
    """Per gateway: its config, its API port and how many kiosks it reads."""


def _configs(
    workdir: Path, mosquitto: Mosquitto, vm: VictoriaMetrics, kiosks_per_edge: list[list[KioskSimulator]]
) -> Site:
    secret = workdir / "site.key"
    secret.write_bytes(secrets.token_bytes(32))
    common: dict[str, Any] = {
        "site": {"id": SITE, "timezone": "Asia/Shanghai"},
        "broker": {"insecure": True, "port": mosquitto.port, "keepalive_s": 5},
        "alerts": {"thresholds": THRESHOLDS},
    }
    edges = []
    for number, kiosks in enumerate(kiosks_per_edge, start=1):
        api = free_port()
        devices = [
            {"id": f"kiosk-{index}", "kind": "hl7_kiosk", "port": str(kiosk.device_path), "ack_timeout_s": 3}
            for index, kiosk in enumerate(kiosks)
        ]
        gateway = {
            "id": f"gw-{number}",
            "data_dir": str(workdir / f"edge-{number}"),
            "pseudonym_secret_file": str(secret),
            "api": {"port": api},
            "outbox": {"drain_rate_per_s": EDGE_DRAIN_RATE_PER_S},
        }
        config = write_config(
            workdir / f"edge-{number}.yaml", {**common, "gateway": gateway, "devices": devices}
        )
        edges.append((config, api, len(kiosks)))
    bridge_api = free_port()
    bridge = write_config(
        workdir / "bridge.yaml",
        {
            **common,
            "bridge": {
                "client_id": "bridge-bench",
                "sink": {"kind": "influxdb", "url": vm.url, "org": "care", "bucket": "careedge"},
                "store_path": str(workdir / "bridge.db"),
                "api": {"port": bridge_api},
            },
        },
    )
    return Site(bridge, bridge_api, edges)


def _cpu_seconds(daemon: Daemon) -> float:
    """User and system CPU the daemon's process has used so far (Linux ``/proc``)."""
    assert daemon.process is not None
    fields = Path(f"/proc/{daemon.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _bridge_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return bool(json.loads(response.read()).get("mqtt_connected"))
    except OSError:
        return False


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
        return str(response.read().decode())


def _kiosks_open(port: int, count: int) -> bool:
    try:
        text = _metrics(port)
    except OSError:
        return False
    return all(f'careedge_edge_device_up{{device="kiosk-{index}"}} 1.0' in text for index in range(count))


def _readings_per_commit(port: int) -> float:
    """Kiosk messages stored per outbox commit so far on one edge (group commit at work)."""
    totals = {"careedge_edge_readings_accepted_total": 0.0, "careedge_edge_outbox_commits_total": 0.0}
    for family in text_string_to_metric_families(_metrics(port)):
        for sample in family.samples:
            if sample.name in totals:
                totals[sample.name] += sample.value
    commits = totals["careedge_edge_outbox_commits_total"]
    return totals["careedge_edge_readings_accepted_total"] / commits if commits else 0.0


def run(
    rate: float, seconds: float, load_kiosks: int, edges: int, mosquitto: Mosquitto, vm: VictoriaMetrics
) -> dict[str, Any]:
    """One run at ``rate`` readings per second (load and probes together, over ``edges`` gateways),
    in its own directory."""
    workdir = Path(tempfile.mkdtemp(prefix="careedge-alert-latency-"))
    timings = Timings({}, {}, threading.Lock())
    probe_rate = READINGS_PER_MESSAGE / PROBE_INTERVAL_S
    load_rate = max(rate - probe_rate, 0.0)
    load_kiosks = load_kiosks if load_rate > 0 else 0
    pseudonyms: dict[str, str] = {}

    def probe_acked(outcome: DeliveryOutcome) -> None:
        if outcome.acknowledged:
            subject = pseudonyms[outcome.record.resident_id]
            with timings.lock:
                timings.acked.setdefault(subject, time.time())

    def alert_arrived(message: Captured) -> None:
        alert = json.loads(message.payload)
        if alert["transition"] == "raised" and alert["subject"]:
            with timings.lock:
                timings.alerted.setdefault(alert["subject"], time.time())

    probe = _kiosk(
        workdir,
        "probe",
        residents=PROBES_MAX,
        interval=PROBE_INTERVAL_S if rate >= probe_rate else READINGS_PER_MESSAGE / rate,
        abnormal=1.0,
        seed=7,
        on_delivery=probe_acked,
    )
    loads = [
        _kiosk(
            workdir,
            f"load{index}",
            residents=LOAD_RESIDENTS,
            interval=load_kiosks * READINGS_PER_MESSAGE / load_rate,
            abnormal=0.0,
            seed=index,
        )
        for index in range(load_kiosks)
    ]
    kiosks = [probe, *loads]
    per_edge = [[probe, *loads[0::edges]], *(loads[number::edges] for number in range(1, edges))]
    try:
        for kiosk in kiosks:
            kiosk.open()
        site = _configs(workdir, mosquitto, vm, per_edge)
        pseudonymiser = Pseudonymiser((workdir / "site.key").read_bytes())
        pseudonyms.update(
            {
                resident.resident_id: pseudonymiser.subject(resident.resident_id, FACILITY)
                for resident in probe.residents
            }
        )
        with contextlib.ExitStack() as stack:
            stack.enter_context(MqttCapture(mosquitto.port, [topics.alerts(SITE)], on_message=alert_arrived))
            bridge = stack.enter_context(Daemon("bridge", site.bridge))
            gateways = [stack.enter_context(Daemon("edge", config)) for config, _, _ in site.edges]
            wait_until(lambda: _bridge_ready(site.bridge_api), 30, "the bridge up")
            wait_until(
                lambda: all(_kiosks_open(api, count) for _, api, count in site.edges),
                30,
                "the edges' kiosk ports open",
            )
            daemons = [bridge, *gateways]
            cpu_before = [_cpu_seconds(daemon) for daemon in daemons]
            own_cpu_before = time.process_time()
            started = time.monotonic()
            for kiosk in kiosks:
                kiosk.start()
            time.sleep(seconds)
            for kiosk in kiosks:
                kiosk.stop()
            elapsed = time.monotonic() - started
            cpu = [
                (_cpu_seconds(daemon) - before) / elapsed
                for daemon, before in zip(daemons, cpu_before, strict=True)
            ]
            kiosks_cpu = (time.process_time() - own_cpu_before) / elapsed
            per_commit = [_readings_per_commit(api) for _, api, _ in site.edges]
            wait_until(lambda: set(timings.acked) <= set(timings.alerted), 30, "every probe's alert")
            messages = sum(len(kiosk.acknowledged) for kiosk in loads) + len(timings.acked)
            readings = sum(len(record.observations) for kiosk in kiosks for record in kiosk.acknowledged)
    finally:
        for kiosk in kiosks:
            kiosk.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    latencies = sorted(timings.alerted[subject] - acked for subject, acked in timings.acked.items())
    return {
        "target": rate,
        "achieved": readings / elapsed,
        "messages_per_s": messages / elapsed,
        "probes": len(latencies),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))] * 1000,
        "max_ms": latencies[-1] * 1000,
        "bridge_cpu": cpu[0],
        "edge_cpu": cpu[1:],
        "kiosks_cpu": kiosks_cpu,
        "per_commit": per_commit,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rates", type=float, nargs="+", default=[1, 1000], help="readings per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="sending time per rate")
    parser.add_argument("--load-kiosks", type=int, default=DEFAULT_LOAD_KIOSKS)
    parser.add_argument("--edges", type=int, default=1, help="gateways (edge processes) sharing the load")
    args = parser.parse_args(argv)
    with Mosquitto() as mosquitto, VictoriaMetrics() as vm:
        for rate in args.rates:
            result = run(rate, args.seconds, args.load_kiosks, args.edges, mosquitto, vm)
            edge_cpu = ", ".join(f"{share:.0%}" for share in result["edge_cpu"])
            per_commit = ", ".join(f"{ratio:.1f}" for ratio in result["per_commit"])
            print(
                f"target {result['target']:,.0f} readings/s, achieved {result['achieved']:,.1f} "
                f"({result['messages_per_s']:,.1f} kiosk messages/s): "
                f"{result['probes']} probe alerts, p50 {result['p50_ms']:.1f} ms, "
                f"p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.1f} ms; "
                f"CPU of one core: edge {edge_cpu}, bridge {result['bridge_cpu']:.0%}, "
                f"kiosk simulators {result['kiosks_cpu']:.0%}; messages per outbox commit: {per_commit}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
