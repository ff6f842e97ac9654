"""The bridge's writer-side CPU per envelope, in one process: validation, points, and the alert
commit (processed IDs, readings, every rule, lifecycle) on the ``bridge_ingest`` workload.

Runs alone: ``.venv/bin/python bench/alert_engine.py [--count 20000] [--repeats 3]``. No MQTT, no
time-series server: the envelopes are the ones ``bench/bridge_ingest.py`` publishes (320
residents, readings minutes apart, so every NEWS2 and trend window is full), validated as the
writer validates them and committed in the bridge's default batches of 8,000 to a fresh store
with the default alert rules. Each figure is ``time.process_time`` per envelope, median of the
repeats (a fresh store each time).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bridge_ingest import make_workload

from careedge_common.config import AlertsConfig, SiteInfo
from careedge_common.envelope import Envelope
from cloud_bridge.alert_service import AlertService
from cloud_bridge.engine import AlertEngine
from cloud_bridge.metrics import BridgeMetrics
from cloud_bridge.points import points_of
from cloud_bridge.seq_tracking import SeqMark
from cloud_bridge.store import BridgeStore
from cloud_bridge.validation import validate_envelope

SITE = "bench-alerts"
BATCH = 8_000
"""The bridge's default ``batch_size``."""


def cpu_us(started: float, count: int) -> float:
    """CPU microseconds per envelope since ``started`` (a ``time.process_time``)."""
    return (time.process_time() - started) / count * 1e6


def commit_all(envelopes: list[Envelope], path: Path) -> None:
    store = BridgeStore(path)
    service = AlertService(
        SITE,
        store,
        AlertEngine(SiteInfo(id=SITE), AlertsConfig()),
        lambda _topic, _payload: None,
        BridgeMetrics(),
        lambda: datetime.now(UTC),
    )
    try:
        for start in range(0, len(envelopes), BATCH):
            batch = envelopes[start : start + BATCH]
            seqs = [SeqMark(e.site, e.gateway, e.seq, e.boot) for e in batch]
            service.commit_batch(batch, [], datetime.now(UTC), seqs)
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    messages = make_workload(SITE, args.count, seed=0).messages
    figures: dict[str, list[float]] = {"validate": [], "points": [], "alert commit": []}
    with tempfile.TemporaryDirectory(prefix="careedge-bench-") as workdir:
        for run in range(args.repeats):
            started = time.process_time()
            envelopes = [validate_envelope(topic, payload, SITE) for topic, payload in messages]
            figures["validate"].append(cpu_us(started, args.count))
            started = time.process_time()
            for envelope in envelopes:
                points_of(envelope)
            figures["points"].append(cpu_us(started, args.count))
            started = time.process_time()
            commit_all(envelopes, Path(workdir) / f"run-{run}.db")
            figures["alert commit"].append(cpu_us(started, args.count))
            print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in figures.items()), flush=True)
    print(
        f"{args.count:,} envelopes, CPU µs per envelope (median of {args.repeats}): "
        + ", ".join(f"{name} {statistics.median(values):.1f}" for name, values in figures.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
