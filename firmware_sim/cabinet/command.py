"""``careedge sim cabinet``: a simulated medicine-cabinet controller on Modbus TCP or RTU."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from careedge_common.config_loader import ConfigError
from drivers.modbus.profile import load_profile
from firmware_sim.cabinet.console import run_line
from firmware_sim.cabinet.model import CabinetModel
from firmware_sim.cabinet.server import CabinetSimulator

EXIT_BAD_OPTIONS = 2


def cabinet(
    profile: Annotated[Path, typer.Option(help="Device profile (config/profiles/*.yaml) of the model.")],
    tcp: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Serve Modbus TCP on this loopback port.")
    ] = None,
    rtu: Annotated[bool, typer.Option(help="Serve Modbus RTU on a pseudo-terminal instead.")] = False,
    relock_seconds: Annotated[float, typer.Option(min=0.0, help="A released lock relocks after this.")] = 5.0,
    resident: Annotated[
        int | None,
        typer.Option(min=1, help="A scripted resident takes this many doses from every released drawer."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for reproducible temperature drift.")] = None,
) -> None:
    """Simulate a cabinet controller: locks, drawers, dose counts and compartment climate.

    Output: where it listens first (host:port, or the pty path for --rtu); on exit (SIGINT,
    SIGTERM) a JSON summary of the requests it answered and left unanswered.

    Input: one command per line plays the resident, the pharmacist or a fault (open_drawer 3,
    take_doses 3 1, close_drawer 3, push_temperature fridge 12, stick_lock 2, power_off, power_on,
    clear_faults, ...); each is answered with a JSON line.
    """
    if (tcp is None) == (not rtu):
        typer.echo("error: give exactly one of --tcp PORT and --rtu", err=True)
        raise typer.Exit(EXIT_BAD_OPTIONS)
    try:
        model = CabinetModel(load_profile(profile), relock_after_s=relock_seconds, seed=seed)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_BAD_OPTIONS) from None
    model.resident_doses = resident
    simulator = CabinetSimulator(model, tcp_port=tcp)
    stop_requested = threading.Event()
    output = threading.Lock()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            simulator.start()
        except (OSError, RuntimeError) as exc:
            typer.echo(f"error: cannot serve the cabinet: {exc}", err=True)
            raise typer.Exit(EXIT_BAD_OPTIONS) from None
        typer.echo(simulator.endpoint)
        threading.Thread(
            target=_read_commands, args=(model, output), name="cabinet-console", daemon=True
        ).start()
        stop_requested.wait()
    finally:
        simulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    summary = {"event": "summary", "answered": model.answered, "unanswered": model.ignored}
    with output:
        typer.echo(json.dumps(summary))


def _read_commands(model: CabinetModel, output: threading.Lock) -> None:
    """Until standard input ends; the thread is a daemon, so a blocked read never holds up exit."""
    for line in sys.stdin:
        outcome = run_line(model, line)
        with output:
            typer.echo(json.dumps(outcome))
