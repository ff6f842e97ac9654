"""``careedge audit verify``: check the edge database's audit hash chain."""

from __future__ import annotations

import sqlite3

import typer

from careedge.edge_data import DataDirOption, SiteConfigOption, edge_database
from edge.audit_chain import chain_rows, verify

audit_app = typer.Typer(no_args_is_help=True, help="Check the edge's audit log.")

EXIT_BROKEN = 2


@audit_app.command("verify")
def verify_command(
    data_dir: DataDirOption = None,
    config: SiteConfigOption = None,
) -> None:
    """Exit 0 and print OK with the row count and head hash, or print the first broken link
    (row id and what differs) and exit 2. Read only: the edge may keep running."""
    path = edge_database(data_dir, config, EXIT_BROKEN)
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
