"""Where a ``careedge`` command finds the edge database: ``--data-dir`` or a site file's
``gateway.data_dir``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from careedge_common.config_loader import ConfigError, load_config
from edge.edge_db import EDGE_DB_FILE

DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="The gateway's data directory (edge.db in it).")
]
SiteConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="Site config; its gateway.data_dir is used.")
]


def edge_database(
    data_dir: Path | None, config: Path | None, exit_code: int, *, must_exist: bool = True
) -> Path:
    """The edge database named by exactly one of ``--data-dir`` and ``--config``; prints the
    problem and exits with ``exit_code`` when there is none (or, ``must_exist``, no file yet)."""
    if (data_dir is None) == (config is None):
        typer.echo("give exactly one of --data-dir and --config", err=True)
        raise typer.Exit(exit_code)
    if config is not None:
        try:
            site = load_config(config)
        except ConfigError as exc:
            for line in exc.problems:
                typer.echo(line, err=True)
            raise typer.Exit(exit_code) from exc
        if site.gateway is None:
            typer.echo(f"{config}: gateway: a 'gateway' section, found none", err=True)
            raise typer.Exit(exit_code)
        data_dir = site.gateway.data_dir
    assert data_dir is not None
    path = data_dir / EDGE_DB_FILE
    if must_exist and not path.exists():
        typer.echo(f"{path}: no edge database here", err=True)
        raise typer.Exit(exit_code)
    return path
