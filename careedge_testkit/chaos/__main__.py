"""``python -m careedge_testkit.chaos``: one chaos run, its report printed and optionally written.

Exits 1 when any acknowledged reading was lost, duplicated or altered, or something unexplained was
stored; 0 otherwise.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from careedge_testkit.chaos.report import render
from careedge_testkit.chaos.runner import ChaosRunner
from careedge_testkit.chaos.schedule import PROFILES
from careedge_testkit.chaos.site import ChaosSite

DEFAULT_SEED = 20261203


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m careedge_testkit.chaos", description=__doc__)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--report", type=Path, help="also write the Markdown report to this file")
    parser.add_argument("--command", help="the command to name in the report (default: this one)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, stores)")
    parser.add_argument(
        "--without-replay",
        action="store_true",
        help="no replays (watermark graces longer than the run): what the faults cost without them",
    )
    args = parser.parse_args(argv)
    command = args.command or shlex.join(["python", "-m", "careedge_testkit.chaos", *sys.argv[1:]])
    workdir = Path(tempfile.mkdtemp(prefix="careedge-chaos-"))
    try:
        with ChaosSite(workdir, seed=args.seed, replay=not args.without_replay) as site:
            result = ChaosRunner(site, args.seed, args.profile, PROFILES[args.profile]).run()
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    text = render(result, command)
    print(text)
    if args.report is not None:
        args.report.write_text(text, encoding="utf-8")
    return 0 if result.reconciliation.clean else 1


if __name__ == "__main__":
    sys.exit(main())
