"""``careedge audit verify``: check the edge database's audit hash chain."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated

import typer

from careedge_common.config_loader import ConfigError, load_config
from edge.audit_chain import chain_rows, verify
from edge.edge_db import EDGE_DB_FILE

audit_app = typer.Typer(no_args_is_help=True, help="Check the edge's audit log.")

EXIT_BROKEN = 2


@audit_app.command("verify")
def verify_command(
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="The gateway's data directory (edge.db in it).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Site config; its gateway.data_dir is used.")
    ] = None,
) -> None:
    """Exit 0 and print OK with the row count and head hash, or print the first broken link
    (row id and what differs) and exit 2. Read only: the edge may keep running."""
    path = _database(data_dir, config)
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        typer.echo(f"{path}: cannot open: {exc}", err=True)
        raise typer.Exit(EXIT_BROKEN) from exc
    try:
        report = verify(chain_rows(db))
    finally:
        db.close()
    if report.broken is not None:
        typer.echo(f"{path}: BROKEN at {report.broken}", err=True)
        raise typer.Exit(EXIT_BROKEN)
    typer.echo(f"{path}: OK, {report.rows} rows, head {report.head}")


def _database(data_dir: Path | None, config: Path | None) -> Path:
    if (data_dir is None) == (config is None):
        typer.echo("give exactly one of --data-dir and --config", err=True)
        raise typer.Exit(EXIT_BROKEN)
    if config is not None:
        try:
            site = load_config(config)
        except ConfigError as exc:
            for line in exc.problems:
                typer.echo(line, err=True)
            raise typer.Exit(EXIT_BROKEN) from exc
        if site.gateway is None:
            typer.echo(f"{config}: gateway: a 'gateway' section, found none", err=True)
            raise typer.Exit(EXIT_BROKEN)
        data_dir = site.gateway.data_dir
    assert data_dir is not None
    path = data_dir / EDGE_DB_FILE
    if not path.exists():
        typer.echo(f"{path}: no edge database here", err=True)
        raise typer.Exit(EXIT_BROKEN)
    return path
