"""``careedge token``: make API tokens for staff, kiosks and technicians.

The token is printed once on stdout and nowhere else (not logged); the file keeps only its hash.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from careedge_common.access.roles import ROLES
from careedge_common.access.tokens import TokenError, TokenFile

token_app = typer.Typer(no_args_is_help=True, help="API tokens (stored hashed).")

EXIT_INVALID = 2


@token_app.command()
def create(
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    name: Annotated[str, typer.Option(help="Staff login or device name; recorded as the actor.")],
    file: Annotated[Path, typer.Option("--file", "-f", help="Tokens file (the API's access.tokens_file).")],
) -> None:
    """Print a new token for NAME in ROLE; only its SHA-256 is written to FILE (mode 0600)."""
    try:
        token = TokenFile(file).create(name, role, datetime.now(UTC))
    except (TokenError, OSError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_INVALID) from None
    typer.echo(token)
