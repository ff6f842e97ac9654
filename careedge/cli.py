"""The one command, ``careedge``: each subcommand lives with the package that owns it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from careedge.audit_cmd import audit_app
from careedge.config_cmd import config_app
from careedge.pharmacist_cmd import pharmacist_app
from careedge.provision.cli import provision_app
from careedge.token_cmd import token_app
from drivers.cli import decode_app
from firmware_sim.cli import sim_app

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="CareEdge: edge gateway and cloud bridge for care-home health devices.",
)
app.add_typer(config_app, name="config")
app.add_typer(audit_app, name="audit")
app.add_typer(pharmacist_app, name="pharmacist")
app.add_typer(decode_app, name="decode")
app.add_typer(sim_app, name="sim")
app.add_typer(provision_app, name="provision")
app.add_typer(token_app, name="token")

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Site config YAML file.")]


@app.command()
def edge(
    config: ConfigOption,
    site_key: Annotated[
        Path | None, typer.Option(help="Site public signing key, to start from a signed *.bundle.")
    ] = None,
) -> None:
    """Run the edge daemon: read devices, keep every reading in the outbox, publish to MQTT."""
    from edge.daemon import run

    raise typer.Exit(run(config, site_key))


@app.command()
def bridge(config: ConfigOption) -> None:
    """Run the cloud bridge: subscribe, validate, store time series, raise alerts, serve the API."""
    from cloud_bridge.service import run

    raise typer.Exit(run(config))


@app.command()
def demo(
    seconds: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    kiosks: Annotated[int, typer.Option(min=1, max=8, help="Simulated kiosks.")] = 2,
    residents_file: Annotated[
        Path | None,
        typer.Option(
            help="Roster (CSV or YAML) the simulated kiosks measure, instead of generated residents."
        ),
    ] = None,
    keep: Annotated[
        Path | None,
        typer.Option(help="Work in this new directory and keep it: configs, logs, databases, mqtt.jsonl."),
    ] = None,
) -> None:
    """Run broker, bridge, edge and kiosk simulators on this machine and show the data flowing."""
    from careedge.demo import run_demo

    raise typer.Exit(run_demo(seconds=seconds, kiosks=kiosks, residents_file=residents_file, keep=keep))
