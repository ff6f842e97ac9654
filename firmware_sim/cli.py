"""``careedge sim``: run simulated devices that speak the real protocols."""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import asdict
from datetime import UTC
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from firmware_sim.astm.analyzers import AnalyzerKind, UnitSystem
from firmware_sim.astm.faults import parse_fault_rates as parse_astm_fault_rates
from firmware_sim.astm.simulator import DEFAULT_ABNORMAL_SHARE as ASTM_ABNORMAL_SHARE
from firmware_sim.astm.simulator import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_OUT_OF_RANGE_SHARE,
    DEFAULT_QUALITY_CONTROL_SHARE,
    DEFAULT_RETRY_INTERVAL_S,
    AstmAnalyzerSimulator,
)
from firmware_sim.astm.simulator import DEFAULT_RESIDENTS as ASTM_RESIDENTS
from firmware_sim.astm.simulator import DeliveryOutcome as AstmOutcome
from firmware_sim.cabinet.command import cabinet
from firmware_sim.kiosk.faults import parse_fault_rates
from firmware_sim.kiosk.residents import IdStyle, ResidentFileError, load_residents
from firmware_sim.kiosk.simulator import (
    DEFAULT_ABNORMAL_SHARE,
    DEFAULT_ACK_TIMEOUT_S,
    DEFAULT_DEVICE_ID,
    DEFAULT_FACILITY,
    DEFAULT_MAX_RESENDS,
    DEFAULT_RESEND_BACKOFF_S,
    DEFAULT_RESIDENTS,
    DeliveryOutcome,
    KioskSimulator,
)
from firmware_sim.kiosk.units import UnitsMode
from firmware_sim.kiosk.vitals import MeasurementKind

sim_app = typer.Typer(no_args_is_help=True, help="Simulated devices for demos and tests.")
sim_app.command(name="cabinet")(cabinet)

SECONDS_PER_MINUTE = 60.0
EXIT_SIMULATOR_FAILED = 1
EXIT_BAD_OPTIONS = 2
CLI_RECORDS_KEPT = 100
"""The command prints each result as it happens; it keeps only a few records in memory."""
FINISH_POLL_S = 0.2


@sim_app.command()
def kiosk(
    residents: Annotated[int, typer.Option(min=1, help="Residents to generate.")] = DEFAULT_RESIDENTS,
    residents_file: Annotated[
        Path | None, typer.Option(help="Roster (CSV or YAML) instead of generated residents.")
    ] = None,
    id_style: Annotated[IdStyle, typer.Option(help="Identifiers of generated residents.")] = IdStyle.ID_CARD,
    rate: Annotated[float, typer.Option(min=0.001, help="Messages per minute.")] = 6.0,
    count: Annotated[int | None, typer.Option(min=1, help="Exit after this many messages.")] = None,
    link: Annotated[
        Path | None, typer.Option(help="Keep a symlink here pointing at the current pty (like by-id).")
    ] = None,
    units: Annotated[UnitsMode, typer.Option(help="Units the kiosk sends.")] = UnitsMode.METRIC,
    abnormal: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of abnormal readings.")
    ] = DEFAULT_ABNORMAL_SHARE,
    kind: Annotated[
        list[MeasurementKind] | None, typer.Option(help="Stations to simulate (repeat); default all.")
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(help="NAME=PROBABILITY per message, repeatable: garbled, truncated, silence, unplug."),
    ] = None,
    silence_seconds: Annotated[float, typer.Option(min=0.0, help="Length of a silence fault.")] = 5.0,
    unplug_seconds: Annotated[float, typer.Option(min=0.0, help="Time unplugged in an unplug fault.")] = 2.0,
    ack_timeout: Annotated[
        float, typer.Option(min=0.01, help="Seconds to wait for an ACK.")
    ] = DEFAULT_ACK_TIMEOUT_S,
    max_resends: Annotated[int, typer.Option(min=0, help="Resends before giving up.")] = DEFAULT_MAX_RESENDS,
    resend_backoff: Annotated[
        float, typer.Option(min=0.0, help="Seconds before a resend.")
    ] = DEFAULT_RESEND_BACKOFF_S,
    facility: Annotated[str, typer.Option(help="MSH-4 and PID-3 assigning facility.")] = DEFAULT_FACILITY,
    device_id: Annotated[str, typer.Option(help="Kiosk serial (OBX-18).")] = DEFAULT_DEVICE_ID,
    seed: Annotated[int | None, typer.Option(help="Seed for reproducible readings and faults.")] = None,
) -> None:
    """Simulate a screening kiosk on a pseudo-terminal, sending HL7 ORU^R01 over MLLP.

    Output: the device path first; one JSON line per message, never with resident names or numbers;

    a JSON summary of the counters on exit (SIGINT, SIGTERM or --count reached).
    """
    output = _Output()
    try:
        faults = parse_fault_rates(fault or [], silence_s=silence_seconds, unplug_s=unplug_seconds)
        roster = load_residents(residents_file) if residents_file is not None else residents
        simulator = KioskSimulator(
            residents=roster,
            interval=SECONDS_PER_MINUTE / rate,
            count=count,
            ack_timeout=ack_timeout,
            max_resends=max_resends,
            resend_backoff=resend_backoff,
            seed=seed,
            units=units,
            abnormal=abnormal,
            kinds=kind or tuple(MeasurementKind),
            faults=faults,
            link=link,
            facility=facility,
            device_id=device_id,
            on_delivery=output.outcome,
            max_records=CLI_RECORDS_KEPT,
            id_style=id_style,
        )
    except (ValueError, ResidentFileError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_OPTIONS) from None

    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with output.lock:
            try:
                simulator.start()
            except OSError as exc:
                typer.echo(f"error: cannot open the kiosk port: {exc}", err=True)
                raise typer.Exit(EXIT_BAD_OPTIONS) from None
            typer.echo(str(simulator.device_path))
        while not stop_requested.is_set() and not simulator.wait_finished(FINISH_POLL_S):
            pass
    finally:
        simulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    summary = {"event": "summary", **asdict(simulator.counters)}
    typer.echo(json.dumps(summary))
    if simulator.error is not None:
        typer.echo(f"error: kiosk simulator failed: {simulator.error!r}", err=True)
        raise typer.Exit(EXIT_SIMULATOR_FAILED)


class _Output:
    """Lines from the simulator thread never come before the device path, nor interleave."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def outcome(self, outcome: DeliveryOutcome) -> None:
        with self.lock:
            typer.echo(json.dumps(_outcome_line(outcome)))


def _outcome_line(outcome: DeliveryOutcome) -> dict[str, object]:
    """What a script may see about one message: never the resident's name or ID number."""
    record = outcome.record
    return {
        "event": "acked" if outcome.acknowledged else "gave_up",
        "control_id": record.control_id,
        "kinds": [kind.value for kind in record.kinds],
        "measured_at": record.measured_at.astimezone(UTC).isoformat(),
        "attempts": outcome.attempts,
    }


@sim_app.command()
def astm(
    analyzer: Annotated[
        AnalyzerKind, typer.Option(help="What the analyzer measures.")
    ] = AnalyzerKind.GLUCOSE_METER,
    residents: Annotated[int, typer.Option(min=1, help="Residents to generate.")] = ASTM_RESIDENTS,
    residents_file: Annotated[
        Path | None, typer.Option(help="Roster (CSV or YAML) instead of generated residents.")
    ] = None,
    id_style: Annotated[
        IdStyle, typer.Option(help="Identifiers of generated residents.")
    ] = IdStyle.CARE_HOME,
    rate: Annotated[float, typer.Option(min=0.001, help="Transmissions per minute.")] = 2.0,
    count: Annotated[int | None, typer.Option(min=1, help="Exit after this many transmissions.")] = None,
    link: Annotated[
        Path | None, typer.Option(help="Keep a symlink here pointing at the current pty (like by-id).")
    ] = None,
    units: Annotated[
        UnitSystem, typer.Option(help="si: mmol/L and g/L; conventional: mg/dL.")
    ] = UnitSystem.SI,
    abnormal: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of abnormal results.")
    ] = ASTM_ABNORMAL_SHARE,
    out_of_range: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of results beyond the measuring range.")
    ] = DEFAULT_OUT_OF_RANGE_SHARE,
    quality_control: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Chance that a meter upload holds a control test.")
    ] = DEFAULT_QUALITY_CONTROL_SHARE,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME=PROBABILITY per transmission, repeatable: bad_checksum, bad_frame_number, "
            "garbled_ack, lost_ack, line_noise, stall, unplug."
        ),
    ] = None,
    stall_seconds: Annotated[float, typer.Option(min=0.0, help="Pause of a stall fault.")] = 35.0,
    unplug_seconds: Annotated[float, typer.Option(min=0.0, help="Time unplugged in an unplug fault.")] = 2.0,
    time_scale: Annotated[
        float,
        typer.Option(min=0.001, help="Multiplies the E1381 timers (15 s reply, 10 s busy, 1 s contention)."),
    ] = 1.0,
    retry_interval: Annotated[
        float, typer.Option(min=0.0, help="Seconds before a failed transmission is sent again.")
    ] = DEFAULT_RETRY_INTERVAL_S,
    max_attempts: Annotated[
        int, typer.Option(min=1, help="Attempts before a transmission is given up.")
    ] = DEFAULT_MAX_ATTEMPTS,
    seed: Annotated[int | None, typer.Option(help="Seed for reproducible results and faults.")] = None,
) -> None:
    """Simulate a point-of-care analyzer on a pseudo-terminal, sending ASTM E1394 records over E1381.

    Output: the device path first; one JSON line per transmission, never with resident names or numbers;

    a JSON summary of the counters on exit (SIGINT, SIGTERM or --count reached).
    """
    lock = threading.Lock()

    def report(outcome: AstmOutcome) -> None:
        with lock:
            typer.echo(json.dumps(_astm_line(outcome)))

    try:
        faults = parse_astm_fault_rates(fault or [], stall_s=stall_seconds, unplug_s=unplug_seconds)
        roster = load_residents(residents_file) if residents_file is not None else residents
        simulator = AstmAnalyzerSimulator(
            analyzer=analyzer,
            residents=roster,
            interval=SECONDS_PER_MINUTE / rate,
            count=count,
            time_scale=time_scale,
            retry_interval=retry_interval,
            max_attempts=max_attempts,
            units=units,
            abnormal=abnormal,
            out_of_range=out_of_range,
            quality_control=quality_control,
            seed=seed,
            faults=faults,
            link=link,
            on_delivery=report,
            max_records=CLI_RECORDS_KEPT,
            id_style=id_style,
        )
    except (ValueError, ResidentFileError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_OPTIONS) from None

    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with lock:
            try:
                simulator.start()
            except OSError as exc:
                typer.echo(f"error: cannot open the analyzer port: {exc}", err=True)
                raise typer.Exit(EXIT_BAD_OPTIONS) from None
            typer.echo(str(simulator.device_path))
        while not stop_requested.is_set() and not simulator.wait_finished(FINISH_POLL_S):
            pass
    finally:
        simulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    typer.echo(json.dumps({"event": "summary", **asdict(simulator.counters)}))
    if simulator.error is not None:
        typer.echo(f"error: analyzer simulator failed: {simulator.error!r}", err=True)
        raise typer.Exit(EXIT_SIMULATOR_FAILED)


def _astm_line(outcome: AstmOutcome) -> dict[str, object]:
    """What a script may see about one transmission: never a resident's name or identifier."""
    transmission = outcome.transmission
    return {
        "event": "delivered" if outcome.delivered else "gave_up",
        "transmission": transmission.number,
        "analyzer": transmission.analyzer.value,
        "results": len(transmission.results),
        "storable": len(transmission.storable),
        "attempts": outcome.attempts,
    }
