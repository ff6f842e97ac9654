"""Edge outbox after a 24-hour outage: how fast it drains, how big it gets, how much memory it takes.

Runs alone: ``.venv/bin/python bench/outbox_drain.py [--readings 100000] [--repeats 3]
[--throttled-seconds 60]``. It starts its own Mosquitto on a free loopback port, then:

1. *fill*: stores ``--readings`` observation envelopes of a 200-resident home, spread over 24 hours
   (blood pressure with pulse, oximetry, temperature, weight, glucose: 1-3 observations each), in
   the real outbox (WAL, ``synchronous=FULL``) through ``Outbox.add_many`` with the resend
   fingerprint the edge stores beside each reading, 50 readings per transaction (a device's
   memory upload); prints the file size per 100,000 readings, and times 2,000 more stored one per
   transaction (each fsync'd, as the edge stores a device's message);
2. *unthrottled drain*: the real edge daemon (``careedge edge --config``, separate process, no
   devices) started on a copy of that outbox with no effective drain limit; a subscriber times the
   arrival of every reading; the edge's peak resident memory (VmHWM) is read before it stops.
   Repeated ``--repeats`` times; medians printed;
3. *throttled drain*: the same at the default ``drain_rate_per_s`` for ``--throttled-seconds``;
   prints the rate the subscriber saw;
4. *idle edge*: the daemon with an empty outbox, for its peak memory without a backlog.

A *reading* here is one outbox row (one envelope, 1-3 observations).
"""

from __future__ import annotations

import argparse
import random
import secrets
import shutil
import statistics
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from careedge_common import codes
from careedge_common.config import OutboxConfig
from careedge_common.envelope import Observation
from careedge_common.pseudonym import Pseudonymiser
from careedge_testkit.mqtt_capture import Captured, MqttCapture
from careedge_testkit.processes import Daemon, write_config
from careedge_testkit.servers import Mosquitto, free_port, wait_until
from careedge_testkit.typical_readings import typical_reading
from drivers.contract import Reading
from edge.envelopes import EnvelopeFactory
from edge.outbox import Outbox
from edge.supervisor import reading_fingerprint

SITE, GATEWAY = "bench-home", "gw-1"
RESIDENTS = 200
DEVICES = ("kiosk-1", "kiosk-2", "kiosk-3", "kiosk-4", "ble-oximeter-1", "ble-cuff-1")
OUTAGE = timedelta(hours=24)
PER_TRANSACTION = 50
ONE_BY_ONE = 2_000
"""Readings stored one per transaction, as a device's messages are, to time the accept path."""
UNTHROTTLED_RATE_PER_S = 1_000_000.0
DRAIN_TIMEOUT_S = 900.0
START_TIMEOUT_S = 60.0
IDLE_SETTLE_S = 5.0
"""How long the idle edge runs (connected, nothing to send) before its memory is read."""
OUTBOX_FILE = "edge.db"


def _as_device_sends(kind: codes.ObservationKind, value: float) -> float | int:
    """Whole numbers for kinds measured in whole units (128 mm[Hg], not 128.0), as drivers emit them."""
    return int(value) if kind.decimals == 0 else value


def _readings(count: int, seed: int) -> list[Reading]:
    rng = random.Random(seed)
    pseudonyms = Pseudonymiser(secrets.token_bytes(32))
    subjects = [pseudonyms.subject(f"resident-{n}") for n in range(RESIDENTS)]
    start = datetime.now(UTC) - OUTAGE
    step = OUTAGE / count
    return [
        Reading(
            device_id=rng.choice(DEVICES),
            measured_at=start + step * n,
            subject=rng.choice(subjects),
            observations=tuple(
                Observation(
                    code=kind.code, name=kind.name, value=_as_device_sends(kind, value), unit=kind.unit
                )
                for kind, value in typical_reading(rng)
            ),
            source_ref=f"MSG{n:08d}",
        )
        for n in range(count)
    ]


@dataclass(frozen=True, slots=True)
class Fill:
    readings: int
    seconds: float
    file_bytes: int


def fill(data_dir: Path, count: int, per_transaction: int = PER_TRANSACTION) -> Fill:
    readings = _readings(count, seed=24)
    envelopes = EnvelopeFactory(SITE, GATEWAY)
    outbox = Outbox(data_dir / OUTBOX_FILE)
    started = time.perf_counter()
    for first in range(0, count, per_transaction):
        outbox.add_many(
            [
                (
                    lambda seq, boot, r=reading: envelopes.observation(r, seq, boot),
                    reading_fingerprint(reading),
                )
                for reading in readings[first : first + per_transaction]
            ]
        )
    seconds = time.perf_counter() - started
    outbox.close()
    size = sum(path.stat().st_size for path in data_dir.glob(f"{OUTBOX_FILE}*"))
    return Fill(count, seconds, size)


@dataclass(frozen=True, slots=True)
class Drain:
    readings: int
    seconds: float
    peak_rss_kib: int

    @property
    def per_second(self) -> float:
        return (self.readings - 1) / self.seconds if self.seconds > 0 else 0.0


class _Arrivals:
    """Arrival times of vitals at the subscriber, from paho's network thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.times: list[float] = []

    def __call__(self, message: Captured) -> None:
        if "/vitals/" in message.topic:
            with self._lock:
                self.times.append(time.monotonic())

    def count(self) -> int:
        with self._lock:
            return len(self.times)


def _peak_rss_kib(pid: int) -> int:
    """VmHWM: the most resident memory the process has had since it started."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for process {pid}")


def _edge_config(workdir: Path, broker: Mosquitto, data_dir: Path, rate: float) -> tuple[Path, int]:
    secret = workdir / "secret.key"
    if not secret.exists():
        secret.write_bytes(secrets.token_bytes(32))
    api_port = free_port()
    config = write_config(
        workdir / f"edge-{data_dir.name}.yaml",
        {
            "site": {"id": SITE, "timezone": "Asia/Shanghai"},
            "broker": {"insecure": True, "port": broker.port, "keepalive_s": 10},
            "gateway": {
                "id": GATEWAY,
                "data_dir": str(data_dir),
                "pseudonym_secret_file": str(secret),
                "api": {"port": api_port},
                "outbox": {"drain_rate_per_s": rate},
            },
        },
    )
    return config, api_port


def _api_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
            return True
    except OSError:
        return False


def drain(
    workdir: Path, broker: Mosquitto, source: Path, run: str, rate: float, until: int | None, seconds: float
) -> Drain:
    """Run the edge on a copy of ``source`` until ``until`` readings arrived or ``seconds`` passed."""
    data_dir = workdir / run
    shutil.copytree(source, data_dir)
    config, _ = _edge_config(workdir, broker, data_dir, rate)
    arrivals = _Arrivals()
    with MqttCapture(broker.port, [f"careedge/v1/{SITE}/{GATEWAY}/vitals/#"], on_message=arrivals):
        with Daemon("edge", config) as edge:
            assert edge.process is not None
            if until is not None:
                wait_until(lambda: arrivals.count() >= until, seconds, f"{until} readings drained")
            else:
                wait_until(lambda: arrivals.count() > 0, START_TIMEOUT_S, "the first reading")
                time.sleep(seconds)
            peak = _peak_rss_kib(edge.process.pid)
        times = list(arrivals.times)
    shutil.rmtree(data_dir)
    return Drain(len(times), times[-1] - times[0], peak)


def idle_peak_rss_kib(workdir: Path, broker: Mosquitto) -> int:
    data_dir = workdir / "idle"
    config, api_port = _edge_config(workdir, broker, data_dir, OutboxConfig().drain_rate_per_s)
    with Daemon("edge", config) as edge:
        assert edge.process is not None
        wait_until(lambda: _api_answers(api_port), START_TIMEOUT_S, "the idle edge's API")
        time.sleep(IDLE_SETTLE_S)
        return _peak_rss_kib(edge.process.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--throttled-seconds", type=float, default=60.0)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="careedge-bench-outbox-"))
    try:
        source = workdir / "filled"
        filled = fill(source, args.readings)
        print(
            f"fill: {filled.readings:,} readings in {filled.seconds:.1f} s "
            f"({filled.readings / filled.seconds:,.0f}/s, {PER_TRANSACTION} per transaction)"
        )
        per_100k_mib = filled.file_bytes * 100_000 / filled.readings / 2**20
        print(
            f"outbox file: {filled.file_bytes / 2**20:.1f} MiB, {per_100k_mib:.1f} MiB per 100,000 readings"
        )
        single = fill(workdir / "single", ONE_BY_ONE, per_transaction=1)
        print(
            f"one reading per transaction (a device's ACK path): {single.readings / single.seconds:,.0f}/s "
            f"over {single.readings:,}"
        )
        with Mosquitto() as broker:
            runs = []
            for n in range(args.repeats):
                result = drain(
                    workdir, broker, source, f"run{n}", UNTHROTTLED_RATE_PER_S, args.readings, DRAIN_TIMEOUT_S
                )
                runs.append(result)
                print(
                    f"unthrottled drain {n + 1}: {result.readings:,} readings in {result.seconds:.1f} s = "
                    f"{result.per_second:,.0f}/s; edge peak RSS {result.peak_rss_kib / 1024:.1f} MiB"
                )
            print(
                f"unthrottled median: {statistics.median(r.per_second for r in runs):,.0f} readings/s; "
                f"edge peak RSS median {statistics.median(r.peak_rss_kib for r in runs) / 1024:.1f} MiB"
            )
            rate = OutboxConfig().drain_rate_per_s
            throttled = drain(workdir, broker, source, "throttled", rate, None, args.throttled_seconds)
            print(
                f"throttled drain (drain_rate_per_s {rate:g}): {throttled.readings:,} readings in "
                f"{throttled.seconds:.1f} s = {throttled.per_second:,.1f}/s; "
                f"edge peak RSS {throttled.peak_rss_kib / 1024:.1f} MiB"
            )
            print(f"idle edge (empty outbox) peak RSS {idle_peak_rss_kib(workdir, broker) / 1024:.1f} MiB")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
