"""``careedge pharmacist add``: give a pharmacist a token for the refill page and API."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from careedge.edge_data import DataDirOption, SiteConfigOption, edge_database
from careedge_common.envelope import utc_now
from edge.audit import AuditLog
from edge.staff_tokens import NAME_PATTERN, StaffTokens

pharmacist_app = typer.Typer(no_args_is_help=True, help="Pharmacists' access to the edge.")

EXIT_USAGE = 2


@pharmacist_app.command("add")
def add(
    name: Annotated[str, typer.Option("--name", help="Who the token is for (shown in the audit log).")],
    data_dir: DataDirOption = None,
    config: SiteConfigOption = None,
) -> None:
    """Print a new token for ``name``, once; only its SHA-256 is stored. Audited as token_created."""
    if not re.fullmatch(NAME_PATTERN, name):
        typer.echo("--name: 1 to 64 printable characters", err=True)
        raise typer.Exit(EXIT_USAGE)
    path = edge_database(data_dir, config, EXIT_USAGE, must_exist=False)
    audit = AuditLog(path)
    tokens = StaffTokens(path, audit)
    try:
        typer.echo(tokens.add(name, "pharmacist", utc_now()))
    finally:
        tokens.close()
        audit.close()
