"""``careedge config``: validate site files and publish their JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from careedge_common.config import SiteConfig, json_schema
from careedge_common.config_loader import ConfigError, load_config
from drivers.modbus.profile import load_profile

config_app = typer.Typer(no_args_is_help=True, help="Check site config files.")

EXIT_INVALID = 2


@config_app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="Site config YAML files.")]) -> None:
    """Exit 0 when every file (and every device profile it names) is valid; else print one line
    per problem and exit 2."""
    problems: list[str] = []
    for path in files:
        try:
            config = load_config(path)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        found = _profile_problems(path, config)
        problems.extend(found)
        if not found:
            typer.echo(f"{path}: ok")
    _report(problems)


@config_app.command()
def profile(files: Annotated[list[Path], typer.Argument(help="Device profile YAML files.")]) -> None:
    """Check device profiles (config/profiles/*.yaml) like site files: exit 2 with one line per problem."""
    problems: list[str] = []
    for path in files:
        try:
            load_profile(path)
        except ConfigError as exc:
            problems.extend(exc.problems)
        else:
            typer.echo(f"{path}: ok")
    _report(problems)


def _profile_problems(path: Path, config: SiteConfig) -> list[str]:
    """Problems of the profiles a site file's Modbus devices name (relative to the site file)."""
    problems: list[str] = []
    for device in config.devices:
        if device.modbus is not None:
            try:
                load_profile(path.parent / device.modbus.profile)
            except ConfigError as exc:
                problems.extend(exc.problems)
    return problems


def _report(problems: list[str]) -> None:
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
