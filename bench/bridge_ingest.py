"""Bridge ingest throughput: QoS 1 envelopes from Mosquitto into VictoriaMetrics.

Runs alone: ``.venv/bin/python bench/bridge_ingest.py [--count 100000] [--naive-count 5000]
[--repeats 3]``. It starts its own Mosquitto and VictoriaMetrics on free loopback ports, then for
each repeat:

* the real bridge (``careedge bridge --config``, one separate process, default batching),
* a naive bridge (separate process: one synchronous influxdb-client write and one ack per message),

each fed by a publisher process that publishes pre-generated observation envelopes (1 to 3
observations each, like kiosk readings) at QoS 1: PUBLISH packets encoded before the clock starts
and written over a plain socket within the broker's Receive Maximum, every PUBACK checked
(``careedge_testkit.qos1_publisher``), so the load generator takes little of the CPU the bridge
needs on a small machine. The clock runs from the first publish until
VictoriaMetrics answers a count query with every point. A *reading* is one observation, i.e. one
stored point; envelopes per second are printed as well. The figures are medians over the repeats.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write.point import Point
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from paho.mqtt.enums import CallbackAPIVersion

from careedge_common import topics
from careedge_common.envelope import Envelope, new_event_id, rfc3339
from careedge_testkit.qos1_publisher import Qos1Publisher, encode_all
from careedge_testkit.servers import Mosquitto, VictoriaMetrics, free_port, wait_until
from careedge_testkit.typical_readings import typical_reading

CAREEDGE = Path(sys.executable).with_name("careedge")
GATEWAYS = 10
DEVICES_PER_GATEWAY = 4
RESIDENTS_PER_DEVICE = 8
"""Each kiosk serves the residents of its floor: about 2,000 distinct series in all, as in a home."""
POLL_S = 0.25
READY_TIMEOUT_S = 30.0
RUN_TIMEOUT_S = 240.0


@dataclass(frozen=True, slots=True)
class Workload:
    site: str
    messages: list[tuple[str, bytes]]
    points: int


@dataclass(frozen=True, slots=True)
class Result:
    envelopes: int
    points: int
    seconds: float
    cpu: dict[str, float]
    """CPU seconds used during the run by the bridge, the publisher, Mosquitto and VictoriaMetrics."""

    @property
    def points_per_s(self) -> float:
        return self.points / self.seconds

    @property
    def envelopes_per_s(self) -> float:
        return self.envelopes / self.seconds


def make_workload(site: str, count: int, seed: int) -> Workload:
    """``count`` envelopes with distinct timestamps per series (one ms apart), an hour old."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=1)
    messages: list[tuple[str, bytes]] = []
    points = 0
    for index in range(count):
        gateway = f"gw-{index % GATEWAYS:02d}"
        device_number = (index // GATEWAYS) % DEVICES_PER_GATEWAY
        device = f"kiosk-{device_number}"
        resident = (
            index % GATEWAYS * DEVICES_PER_GATEWAY + device_number
        ) * RESIDENTS_PER_DEVICE + rng.randrange(RESIDENTS_PER_DEVICE)
        measured = start + timedelta(milliseconds=index)
        obs = [
            {"code": kind.code, "name": kind.name, "value": value, "unit": kind.unit}
            for kind, value in typical_reading(rng)
        ]
        envelope = {
            "v": 1,
            "id": new_event_id(),
            "seq": index // GATEWAYS + 1,
            "boot": 1,
            "site": site,
            "gateway": gateway,
            "device": device,
            "type": "observation",
            "measured_at": rfc3339(measured),
            "received_at": rfc3339(measured + timedelta(milliseconds=150)),
            "subject": f"p-{resident:06x}",
            "historical": False,
            "obs": obs,
        }
        messages.append((topics.vitals(site, gateway, device), json.dumps(envelope).encode()))
        points += len(obs)
    return Workload(site, messages, points)


def publish_all(port: int, messages: list[tuple[str, bytes]], go: EventType, started: Any, cpu: Any) -> None:
    """Child process: encode every PUBLISH packet, connect, wait for ``go``, then write them at QoS 1
    within the broker's Receive Maximum; return when all are PUBACKed (raise on any refusal)."""
    encoded = encode_all(messages)
    with Qos1Publisher(port, f"bench-pub-{new_event_id()}") as publisher:
        go.wait()
        cpu_before = time.process_time()
        started.value = time.monotonic()
        publisher.publish_all(encoded)
        cpu.value = time.process_time() - cpu_before


def naive_bridge(port: int, vm_url: str, site: str, ready: EventType) -> None:
    """Child process: the obvious bridge, one validated envelope → one synchronous write → one ack."""
    influx = InfluxDBClient(url=vm_url, token="", org="bench")
    write_api = influx.write_api(write_options=SYNCHRONOUS)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"naive-{site}", protocol=mqtt.MQTTv5, manual_ack=True
    )

    def on_connect(client: mqtt.Client, *_: Any) -> None:
        client.subscribe(topics.all_vitals(site), qos=1)

    def on_subscribe(*_: Any) -> None:
        ready.set()

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        envelope = Envelope.model_validate_json(message.payload)
        time_ms = (envelope.measured_at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
        records = [
            Point("vitals")  # type: ignore[no-untyped-call]
            .tag("site", envelope.site)
            .tag("gateway", envelope.gateway)
            .tag("device", envelope.device)
            .tag("subject", envelope.subject)
            .tag("code", observation.code)
            .tag("unit", observation.unit)
            .field("value", float(observation.value))
            .time(time_ms, WritePrecision.MS)
            for observation in envelope.obs
        ]
        write_api.write("bench", "bench", record=records)
        client.ack(message.mid, message.qos)

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_forever()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a live process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stored_points(vm: VictoriaMetrics, site: str) -> int:
    vm.flush()
    query = urllib.parse.urlencode({"query": f'sum(count_over_time(vitals_value{{site="{site}"}}[3h]))'})
    with urllib.request.urlopen(f"{vm.url}/api/v1/query?{query}", timeout=30) as response:  # noqa: S310
        result = json.loads(response.read())["data"]["result"]
    return int(result[0]["value"][1]) if result else 0


def measure(mosquitto: Mosquitto, vm: VictoriaMetrics, workload: Workload, bridge_pids: list[int]) -> Result:
    """Publish the workload (bridges already subscribed); time until every point is queryable."""
    context = multiprocessing.get_context("fork")
    go = context.Event()
    started = context.Value("d", 0.0)
    publisher_cpu = context.Value("d", 0.0)
    publisher = context.Process(
        target=publish_all, args=(mosquitto.port, workload.messages, go, started, publisher_cpu)
    )
    publisher.start()
    bridges = {
        f"bridge {index + 1}" if len(bridge_pids) > 1 else "bridge": pid
        for index, pid in enumerate(bridge_pids)
    }
    servers = {**bridges, "mosquitto": _pid(mosquitto), "victoria-metrics": _pid(vm)}
    before = {name: cpu_seconds(pid) for name, pid in servers.items()}
    go.set()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while stored_points(vm, workload.site) < workload.points:
        if publisher.exitcode:
            raise RuntimeError(f"{workload.site}: the publisher failed (exit code {publisher.exitcode})")
        if time.monotonic() > deadline:
            publisher.kill()
            raise TimeoutError(
                f"{workload.site}: not all {workload.points} points stored in {RUN_TIMEOUT_S}s"
            )
        time.sleep(POLL_S)
    finished = time.monotonic()
    cpu = {name: cpu_seconds(pid) - before[name] for name, pid in servers.items()}
    publisher.join()
    cpu["publisher"] = publisher_cpu.value
    return Result(len(workload.messages), workload.points, finished - started.value, cpu)


def _pid(server: Mosquitto | VictoriaMetrics) -> int:
    assert server.process is not None
    return server.process.pid


def bridge_config(
    workdir: Path, mosquitto: Mosquitto, vm: VictoriaMetrics, site: str, api_port: int, client_id: str
) -> Path:
    """Bridges of one site share the relational store, as scale-out requires (DESIGN §6)."""
    path = workdir / f"{client_id}.yaml"
    path.write_text(
        json.dumps(
            {
                "site": {"id": site},
                "broker": {"insecure": True, "port": mosquitto.port},
                "bridge": {
                    "client_id": client_id,
                    "sink": {"kind": "influxdb", "url": vm.url, "org": "bench", "bucket": "bench"},
                    "store_path": str(workdir / f"{site}.db"),
                    "api": {"port": api_port},
                },
                "log_level": "WARNING",
            }
        )
    )
    return path


def health_ok(api_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def run_real(
    workdir: Path, mosquitto: Mosquitto, vm: VictoriaMetrics, workload: Workload, bridges: int = 1
) -> Result:
    """``bridges`` processes on the shared subscription, each with its own client ID."""
    ports = [free_port() for _ in range(bridges)]
    processes = [
        subprocess.Popen(
            [
                str(CAREEDGE),
                "bridge",
                "--config",
                str(
                    bridge_config(
                        workdir, mosquitto, vm, workload.site, port, f"bridge-{workload.site}-{index}"
                    )
                ),
            ]
        )
        for index, port in enumerate(ports)
    ]
    try:
        for port in ports:
            wait_until(lambda port=port: health_ok(port), READY_TIMEOUT_S, "the bridge to connect")
        return measure(mosquitto, vm, workload, [process.pid for process in processes])
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)


def run_naive(mosquitto: Mosquitto, vm: VictoriaMetrics, workload: Workload) -> Result:
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    process = context.Process(target=naive_bridge, args=(mosquitto.port, vm.url, workload.site, ready))
    process.start()
    try:
        if not ready.wait(READY_TIMEOUT_S):
            raise TimeoutError("the naive bridge did not subscribe")
        assert process.pid is not None
        return measure(mosquitto, vm, workload, [process.pid])
    finally:
        process.terminate()
        process.join(30)


def describe(name: str, results: list[Result]) -> str:
    runs = ", ".join(f"{result.points_per_s:,.0f}" for result in results)
    return (
        f"{name}: median {statistics.median(r.points_per_s for r in results):,.0f} readings/s "
        f"({statistics.median(r.envelopes_per_s for r in results):,.0f} envelopes/s); "
        f"runs {runs} readings/s; {results[0].envelopes:,} envelopes, {results[0].points:,} readings each"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=100_000, help="envelopes per real-bridge run")
    parser.add_argument("--naive-count", type=int, default=5_000, help="envelopes per naive-bridge run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="careedge-bench-"))
    real: list[Result] = []
    naive: list[Result] = []
    try:
        with Mosquitto() as mosquitto, VictoriaMetrics() as vm:
            for repeat in range(args.repeats):
                runs: list[tuple[list[Result], Callable[[Workload], Result], str, int]] = [
                    (real, lambda w: run_real(workdir, mosquitto, vm, w), "real", args.count),
                    (naive, lambda w: run_naive(mosquitto, vm, w), "naive", args.naive_count),
                ]
                for results, run, name, count in runs:
                    workload = make_workload(f"bench-{name}-{repeat}", count, seed=repeat)
                    result = run(workload)
                    results.append(result)
                    print(
                        f"run {repeat + 1} {name}: {result.points:,} readings "
                        f"({result.envelopes:,} envelopes) in {result.seconds:.2f} s = "
                        f"{result.points_per_s:,.0f} readings/s; CPU s: "
                        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in result.cpu.items()),
                        flush=True,
                    )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ratio = statistics.median(r.points_per_s for r in real) / statistics.median(r.points_per_s for r in naive)
    print(describe("real bridge ", real))
    print(describe("naive bridge", naive))
    print(f"ratio (medians): {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
