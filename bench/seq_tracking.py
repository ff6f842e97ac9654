"""What recording each envelope's ``seq`` costs the bridge's store commit (DESIGN §4).

The bridge commits a batch's processed envelope IDs in one transaction; with the delivery check,
the same transaction records each envelope's (gateway, seq) and advances the gateways' watermarks.
This times ``BridgeStore.record`` on a real SQLite file (WAL, ``synchronous=FULL``) for batches of
``--batch`` envelopes from ``--gateways`` gateways, three ways: IDs only (as before), IDs and seqs
in order, and IDs and seqs with every batch shuffled and each gateway's lowest seq held back one
batch (so every commit also stores seqs above a gap and consumes the previous batch's). The three
take turns batch by batch, so a busy machine slows them alike. Prints the median milliseconds per
batch and microseconds per envelope of each, and the ratios to IDs only.

    .venv/bin/python bench/seq_tracking.py --batches 50 --batch 2000 --gateways 10
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from careedge_common.envelope import new_event_id
from cloud_bridge.seq_tracking import SeqMark
from cloud_bridge.store import BridgeStore

SITE = "bench"

Batch = tuple[list[str], list[SeqMark]]


def _batches(count: int, size: int, gateways: int, *, shuffled: bool) -> list[Batch]:
    rng = random.Random(7)
    next_seq = dict.fromkeys(range(gateways), 1)
    held: list[SeqMark] = []
    batches: list[Batch] = []
    for _ in range(count):
        marks = list(held)
        held = []
        for index in range(size):
            gateway = index % gateways
            marks.append(SeqMark(SITE, f"gw-{gateway}", next_seq[gateway], 1))
            next_seq[gateway] += 1
        if shuffled:
            rng.shuffle(marks)
            lowest: dict[str, SeqMark] = {}
            for mark in marks:
                if mark.gateway not in lowest or mark.seq < lowest[mark.gateway].seq:
                    lowest[mark.gateway] = mark
            held = list(lowest.values())
            marks = [mark for mark in marks if mark not in held]
        batches.append(([new_event_id() for _ in marks], marks))
    return batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--gateways", type=int, default=10)
    args = parser.parse_args()
    now = datetime.now(UTC)
    variants = {
        "IDs only": (False, False),
        "IDs and seqs, in order": (True, False),
        "IDs and seqs, shuffled with a gap": (True, True),
    }
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as directory:
        stores = {name: BridgeStore(Path(directory) / f"{index}.db") for index, name in enumerate(variants)}
        batches = {
            name: _batches(args.batches, args.batch, args.gateways, shuffled=shuffled)
            for name, (_, shuffled) in variants.items()
        }
        for index in range(args.batches):
            for name, (with_seqs, _) in variants.items():
                ids, marks = batches[name][index]
                started = time.perf_counter()
                stores[name].record(ids, [], now, marks if with_seqs else ())
                seconds[name].append(time.perf_counter() - started)
        for store in stores.values():
            store.close()
    results = {name: statistics.median(times) for name, times in seconds.items()}
    for name, median in results.items():
        per_envelope_us = median / args.batch * 1e6
        print(f"{name}: median {median * 1000:.2f} ms per batch, {per_envelope_us:.1f} µs per envelope")
    base = results["IDs only"]
    for name, median in results.items():
        print(f"{name}: {median / base:.2f}x IDs only")


if __name__ == "__main__":
    main()
