"""``careedge decode``: decode device payloads offline, as a technician checks a capture."""

from __future__ import annotations

import typer

decode_app = typer.Typer(no_args_is_help=True, help="Decode device payloads and print them as JSON.")
