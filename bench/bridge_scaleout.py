"""Bridge scale-out: readings per second with one, two and four bridge processes on one MQTT v5
shared subscription, sharing one relational store and one VictoriaMetrics.

Runs alone: ``.venv/bin/python bench/bridge_scaleout.py [--count 60000] [--bridges 1 2 4]
[--repeats 3]``. Same workload, publisher and clock as ``bench/bridge_ingest.py`` (from the first
publish until VictoriaMetrics counts every point). The runs of one repeat follow each other, so the
ratios within a repeat are measured on the same machine state; figures are medians over repeats.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bridge_ingest import Result, make_workload, run_real

from careedge_testkit.servers import Mosquitto, VictoriaMetrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=60_000, help="envelopes per run")
    parser.add_argument("--bridges", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="careedge-bench-"))
    results: dict[int, list[Result]] = {bridges: [] for bridges in args.bridges}
    try:
        with Mosquitto() as mosquitto, VictoriaMetrics() as vm:
            for repeat in range(args.repeats):
                for bridges in args.bridges:
                    workload = make_workload(f"scale-{bridges}-{repeat}", args.count, seed=repeat)
                    result = run_real(workdir, mosquitto, vm, workload, bridges)
                    results[bridges].append(result)
                    print(
                        f"run {repeat + 1}, {bridges} bridge(s): {result.points:,} readings in "
                        f"{result.seconds:.2f} s = {result.points_per_s:,.0f} readings/s; CPU s: "
                        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in result.cpu.items()),
                        flush=True,
                    )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    base = statistics.median(r.points_per_s for r in results[args.bridges[0]])
    for bridges, runs in results.items():
        median = statistics.median(r.points_per_s for r in runs)
        print(
            f"{bridges} bridge(s): median {median:,.0f} readings/s "
            f"({median / base:.2f}x of {args.bridges[0]}); runs "
            + ", ".join(f"{r.points_per_s:,.0f}" for r in runs)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
