"""Modbus polling: polls per second and poll latency against simulated cabinets over TCP.

Runs alone: ``.venv/bin/python bench/modbus_poll.py [--seconds 10] [--repeats 3]``. The simulated
cabinets (``firmware_sim.cabinet``) all run in one separate process, each on its own loopback
port, so they do not share the poller's GIL. The poller is this process: one event loop, one
``ModbusCabinet`` (own TCP connection, own request queue) per cabinet, as one edge process would
hold them. A poll is one full read of the profile (``sim-cabinet.yaml``: 7 requests, every
contiguous range once), timed from the call to the decoded snapshot.

Scenarios, each for ``--seconds``:
- *1 cabinet, back to back*: the next poll starts when the last one ends (the ceiling).
- *16 cabinets, back to back*: all polled concurrently, each back to back.
- *16 cabinets every 250 ms*: the paced load of a site, to show latency with headroom; the
  cabinets' polls are spread evenly over the interval (started 250/16 ms apart), as an edge
  should spread them. Started all at once, their 112 requests arrive as one burst and the last
  waits for the other 111.
Figures: polls/s (all cabinets together), median and p99 poll latency, and CPU time per poll of
the poller and of the simulator process (steadier than rates on a shared machine). Each figure is
the median over ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import platform
import statistics
import time
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path

from careedge_testkit.servers import free_port
from drivers.modbus.cabinet import ModbusBus, ModbusCabinet
from drivers.modbus.link import LinkPolicy, ModbusLink, tcp_client
from drivers.modbus.profile import load_profile
from firmware_sim.cabinet.model import CabinetModel
from firmware_sim.cabinet.server import CabinetServer

PROFILE = Path(__file__).resolve().parents[1] / "config" / "profiles" / "sim-cabinet.yaml"
POLICY = LinkPolicy(timeout_s=2.0, retries=0)
PACED_INTERVAL_S = 0.25
READY_TIMEOUT_S = 30.0


def _serve(ports: list[int], ready: Event, stop: Event, cpu: multiprocessing.SimpleQueue[float]) -> None:
    async def main() -> None:
        profile = load_profile(PROFILE)
        servers = [
            CabinetServer(CabinetModel(profile, seed=i), tcp_port=port) for i, port in enumerate(ports)
        ]
        for server in servers:
            await server.start()
        ready.set()
        await asyncio.to_thread(stop.wait)
        for server in servers:
            await server.stop()

    started = time.process_time()
    asyncio.run(main())
    cpu.put(time.process_time() - started)


@dataclass
class Result:
    polls_per_s: float
    median_ms: float
    p99_ms: float
    poller_cpu_us_per_poll: float
    simulator_cpu_us_per_poll: float


async def _poll_cabinets(
    ports: list[int], seconds: float, interval: float | None
) -> tuple[list[float], float]:
    profile = load_profile(PROFILE)
    cabinets = []
    for port in ports:
        bus = ModbusBus(ModbusLink(tcp_client("127.0.0.1", port), POLICY, f"cab-{port}"), f"cab-{port}")
        bus.start()
        cabinets.append(ModbusCabinet(profile, bus, name=f"cab-{port}"))
    for cabinet in cabinets:
        await cabinet.poll()
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def run(cabinet: ModbusCabinet, phase: float) -> None:
        next_at = time.perf_counter() + phase
        await asyncio.sleep(phase)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await cabinet.poll()
            latencies.append(time.perf_counter() - started)
            if interval is not None:
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    started = time.perf_counter()
    spread = (interval or 0.0) / len(cabinets)
    await asyncio.gather(*(run(cabinet, i * spread) for i, cabinet in enumerate(cabinets)))
    elapsed = time.perf_counter() - started
    for cabinet in cabinets:
        await cabinet.bus.stop()
    return latencies, elapsed


def run_once(cabinets: int, seconds: float, interval: float | None) -> Result:
    ports = [free_port() for _ in range(cabinets)]
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Event(), context.Event()
    cpu: multiprocessing.SimpleQueue[float] = context.SimpleQueue()
    simulator = context.Process(target=_serve, args=(ports, ready, stop, cpu), daemon=True)
    simulator.start()
    try:
        if not ready.wait(READY_TIMEOUT_S):
            raise RuntimeError("the simulator process did not start")
        cpu_before = time.process_time()
        latencies, elapsed = asyncio.run(_poll_cabinets(ports, seconds, interval))
        poller_cpu = time.process_time() - cpu_before
    finally:
        stop.set()
        simulator.join(READY_TIMEOUT_S)
    latencies.sort()
    return Result(
        polls_per_s=len(latencies) / elapsed,
        median_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        poller_cpu_us_per_poll=poller_cpu / len(latencies) * 1e6,
        simulator_cpu_us_per_poll=cpu.get() / len(latencies) * 1e6,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    scenarios = [
        ("1 cabinet, back to back", 1, None),
        ("16 cabinets, back to back", 16, None),
        (f"16 cabinets every {PACED_INTERVAL_S * 1000:.0f} ms", 16, PACED_INTERVAL_S),
    ]
    print(
        f"Python {platform.python_version()}, {PROFILE.name}, {args.seconds:g} s per run, {args.repeats} runs"
    )
    columns = ["scenario", "polls/s", "median ms", "p99 ms", "poller CPU µs/poll", "simulator CPU µs/poll"]
    print("| " + " | ".join([*columns, "runs (polls/s)"]) + " |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, cabinets, interval in scenarios:
        results = [run_once(cabinets, args.seconds, interval) for _ in range(args.repeats)]

        def median(field: str, results: list[Result] = results) -> float:
            return statistics.median(getattr(result, field) for result in results)

        runs = ", ".join(f"{result.polls_per_s:,.0f}" for result in results)
        print(
            f"| {name} | **{median('polls_per_s'):,.0f}** | {median('median_ms'):.2f} | "
            f"**{median('p99_ms'):.2f}** | {median('poller_cpu_us_per_poll'):,.0f} | "
            f"{median('simulator_cpu_us_per_poll'):,.0f} | {runs} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
