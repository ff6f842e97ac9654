"""``careedge config``: validate site files and publish their JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from careedge_common.config import json_schema
from careedge_common.config_loader import ConfigError, load_config

config_app = typer.Typer(no_args_is_help=True, help="Check site config files.")

EXIT_INVALID = 2


@config_app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="Site config YAML files.")]) -> None:
    """Exit 0 when every file is valid; else print one line per problem and exit 2."""
    problems: list[str] = []
    for path in files:
        try:
            load_config(path)
        except ConfigError as exc:
            problems.extend(exc.problems)
        else:
            typer.echo(f"{path}: ok")
    for line in problems:
        typer.echo(line, err=True)
    if problems:
        raise typer.Exit(EXIT_INVALID)


@config_app.command()
def schema(
    output: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None,
) -> None:
    """Print the JSON Schema of site config files (published as config/site-config.schema.json)."""
    text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
