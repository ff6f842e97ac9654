"""Bridge memory while the time-series server is down: is it bounded by flow control?

Runs alone: ``.venv/bin/python bench/bridge_backpressure.py [--count 60000] [--paused-s 15]``.
The worst case for memory is a backlog that waits in the bridge's persistent session (bridge
stopped while gateways publish) and a bridge that comes back while VictoriaMetrics is down
(SIGSTOP): Mosquitto sends messages queued for an offline client without regard to the client's
receive maximum. The script samples the bridge's resident memory (``/proc/PID/status`` VmRSS) and
its ``/health`` queue depth and message counters: when idle and connected, for ``--paused-s``
seconds with the server paused, and while it drains after the server resumes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bridge_ingest import CAREEDGE, bridge_config, health_ok, make_workload, publish_all, stored_points

from careedge_testkit.servers import Mosquitto, VictoriaMetrics, free_port, wait_until

SAMPLE_S = 0.2


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def health(api_port: int) -> dict[str, Any]:
    """The bridge's health document, also when it answers 503 (TSDB unreachable); {} when down."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/health", timeout=2) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as error:
        return dict(json.loads(error.read()))
    except OSError:
        return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=60_000, help="envelopes waiting in the session")
    parser.add_argument("--paused-s", type=float, default=15.0)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="careedge-bench-"))
    try:
        with Mosquitto() as mosquitto, VictoriaMetrics() as vm:
            workload = make_workload("backpressure", args.count, seed=1)
            api_port = free_port()
            config = bridge_config(workdir, mosquitto, vm, workload.site, api_port, "bridge-backpressure")
            command = [str(CAREEDGE), "bridge", "--config", str(config)]
            first = subprocess.Popen(command)
            wait_until(lambda: health_ok(api_port), 30, "the bridge to subscribe")
            first.terminate()
            first.wait(30)
            publish_backlog(mosquitto.port, workload.messages)
            vm.pause()
            bridge = subprocess.Popen(command)
            try:
                wait_until(lambda: health(api_port).get("mqtt_connected"), 30, "the bridge to reconnect")
                idle = rss_mib(bridge.pid)
                paused_peak, depth_peak = idle, 0
                deadline = time.monotonic() + args.paused_s
                while time.monotonic() < deadline:
                    paused_peak = max(paused_peak, rss_mib(bridge.pid))
                    depth_peak = max(depth_peak, int(health(api_port).get("queue_depth", 0)))
                    time.sleep(SAMPLE_S)
                vm.resume()
                resumed = time.monotonic()
                drain_peak = paused_peak
                while stored_points(vm, workload.site) < workload.points:
                    drain_peak = max(drain_peak, rss_mib(bridge.pid))
                    time.sleep(SAMPLE_S)
                drained = time.monotonic() - resumed
            finally:
                bridge.terminate()
                bridge.wait(30)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"backlog: {args.count:,} envelopes ({workload.points:,} readings) queued in the bridge's session")
    print(f"bridge RSS connected, before the backlog arrives: {idle:.1f} MiB")
    print(
        f"TSDB paused {args.paused_s:.0f} s: peak RSS {paused_peak:.1f} MiB, "
        f"peak queue depth {depth_peak:,} messages"
    )
    print(f"after resume: drained in {drained:.1f} s, peak RSS {drain_peak:.1f} MiB")
    return 0


def publish_backlog(port: int, messages: list[tuple[str, bytes]]) -> None:
    """Publish in this process; the bridge is offline, so everything queues in its session."""
    context = multiprocessing.get_context("fork")
    go = context.Event()
    go.set()
    publish_all(port, messages, go, context.Value("d", 0.0), context.Value("d", 0.0))


if __name__ == "__main__":
    sys.exit(main())
