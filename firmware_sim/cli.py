"""``careedge sim``: run simulated devices that speak the real protocols."""

from __future__ import annotations

import typer

sim_app = typer.Typer(no_args_is_help=True, help="Simulated devices for demos and tests.")
