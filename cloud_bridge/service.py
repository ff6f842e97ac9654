"""``careedge bridge --config FILE``: run one bridge process until SIGTERM or SIGINT.

Exit status: 0 after a clean stop, 1 when the bridge failed while running (systemd restarts it;
unacknowledged messages wait in the broker session), 2 when the config is unusable (nothing was
started).
"""

from __future__ import annotations

import gc
import logging
import signal
import sqlite3
import sys
import threading
from pathlib import Path
from types import FrameType

from careedge_common.config import SecretError
from careedge_common.config_loader import ConfigError, load_config
from careedge_common.service_notify import ServiceNotifier
from cloud_bridge.bridge import Bridge, BridgeError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
GC_THRESHOLDS = (200_000, 20, 20)
"""Collect the youngest generation after 200,000 net allocations instead of 700. The writer
allocates a few hundred objects per envelope (validation, points, rules) that almost all die with
their batch; at Python's defaults the collector ran every few envelopes and, with everything the
process loaded at startup to walk, cost about a fifth of the bridge's CPU (``bench/bridge_ingest.py``,
docs/benchmarks.md). At 50,000 it still ran about 25 times in a 100,000-envelope run, 20 ms each,
mostly walking the batch in hand (a batch of thousands of envelopes keeps tens of thousands of
objects alive until it is stored) and moving it to older generations: 0.6 s of 8.5. Cyclic garbage waits a
little longer; memory stays bounded."""
SUPERVISE_POLL_S = 0.1
"""How often the main thread looks at the stop flag, the writer and the subscription."""

log = logging.getLogger(__name__)


def run(config_path: Path) -> int:
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        return _config_problem(exc.problems)
    if config.bridge is None:
        return _config_problem(
            [f"{config_path}: bridge: a 'bridge' section to run the bridge, found nothing"]
        )
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        bridge = Bridge(config)
    except SecretError as exc:
        return _config_problem([f"{config_path}: {exc}"])
    except (sqlite3.Error, OSError) as exc:
        return _config_problem([f"{config_path}: bridge: usable store paths, found {exc}"])

    gc.freeze()  # what startup loaded (modules, config, the app) lives as long as the process
    gc.set_threshold(*GC_THRESHOLDS)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        bridge.start()
    except BridgeError as exc:
        log.error("%s", exc)
        return EXIT_FAILED
    _supervise(bridge, stop, ServiceNotifier())
    bridge.stop()
    return EXIT_FAILED if bridge.crashed.is_set() else EXIT_OK


def _supervise(bridge: Bridge, stop: threading.Event, systemd: ServiceNotifier) -> None:
    """Until asked to stop or the writer crashes: READY=1 once subscribed, and keep-alives while the
    writer turns. A writer stuck longer than systemd's watchdog timeout gets the bridge restarted;
    its unacknowledged messages wait in the broker session."""
    ready = False
    stuck_after_s = systemd.watchdog_timeout_s
    while not stop.wait(SUPERVISE_POLL_S) and not bridge.crashed.is_set():
        if not ready and bridge.subscribed:
            systemd.ready()
            ready = True
        if stuck_after_s is not None and bridge.working(stuck_after_s):
            systemd.alive_when_due()
    systemd.stopping()


def _config_problem(problems: list[str]) -> int:
    for line in problems:
        print(line, file=sys.stderr)
    return EXIT_CONFIG
