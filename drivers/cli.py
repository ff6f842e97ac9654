"""``careedge decode``: decode device payloads offline, as a technician checks a capture."""

from __future__ import annotations

import json
import zoneinfo
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from drivers.hl7.errors import Hl7Error
from drivers.hl7.mllp import START_BLOCK, MllpDecoder, MllpFrame
from drivers.hl7.oru import describe, parse_oru

decode_app = typer.Typer(no_args_is_help=True, help="Decode device payloads and print them as JSON.")

EXIT_INVALID = 2


@decode_app.command("hl7")
def hl7_command(
    file: Annotated[Path, typer.Argument(help="One HL7 v2 ORU^R01 message, bare or MLLP-framed.")],
    timezone: Annotated[
        str, typer.Option(help="IANA zone of the site, for kiosk times without a UTC offset.")
    ] = "UTC",
) -> None:
    """Print the observations of one ORU^R01 message as JSON; exit 2 with one line if it is unusable.

    The patient identifier is never printed: subjects are pseudonymised only on a gateway.
    """
    try:
        zone = zoneinfo.ZoneInfo(timezone)
        data = file.read_bytes()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        _fail(f"--timezone: an IANA time zone such as 'Asia/Shanghai', found {timezone!r}")
    except OSError as exc:
        _fail(f"{file}: cannot read: {exc.strerror}")
    try:
        message = parse_oru(_unframe(file, data), timezone=zone, pseudonymiser=None)
    except Hl7Error as exc:
        _fail(f"{file}: {exc}")
    typer.echo(json.dumps(describe(message), indent=2, ensure_ascii=False))


def _unframe(file: Path, data: bytes) -> bytes:
    """The message of a file holding one MLLP frame; the file itself when it holds no framing."""
    if START_BLOCK not in data:
        return data
    frames = [event for event in MllpDecoder().feed(data) if isinstance(event, MllpFrame)]
    if len(frames) != 1:
        _fail(f"{file}: one complete MLLP frame (0x0B ... 0x1C 0x0D), found {len(frames)}")
    return frames[0].payload


def _fail(line: str) -> NoReturn:
    typer.echo(line, err=True)
    raise typer.Exit(EXIT_INVALID)
