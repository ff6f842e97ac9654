"""``careedge decode``: decode device payloads offline, as a technician checks a capture."""

from __future__ import annotations

import json
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from drivers.astm.capture import describe_capture
from drivers.astm.errors import AstmError
from drivers.astm.vocabulary import Analytes
from drivers.ble.describe import describe as describe_ble
from drivers.ble.errors import BleDecodeError
from drivers.ble.registry import CHARACTERISTICS, Characteristic
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


@decode_app.command("astm")
def astm_command(
    file: Annotated[
        Path,
        typer.Argument(help="What an analyzer sent (ENQ, frames, EOT), or ASTM E1394 records one per line."),
    ],
    timezone: Annotated[str, typer.Option(help="IANA zone of the site, for the analyzer's clock.")] = "UTC",
    analytes: Annotated[
        Analytes, typer.Option(help="Table for the analyzer's own test codes (R-3 component 4).")
    ] = Analytes.BLOOD,
) -> None:
    """Print the results of every ASTM message in a file as JSON; exit 2 with one line if it is unusable.

    Patient identifiers and names are never printed: subjects are pseudonymised only on a gateway.
    """
    try:
        zone = zoneinfo.ZoneInfo(timezone)
        data = file.read_bytes()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        _fail(f"--timezone: an IANA time zone such as 'Asia/Shanghai', found {timezone!r}")
    except OSError as exc:
        _fail(f"{file}: cannot read: {exc.strerror}")
    try:
        decoded = describe_capture(data, timezone=zone, analytes=analytes)
    except AstmError as exc:
        _fail(f"{file}: {exc}")
    if not decoded["messages"]:
        _fail(f"{file}: no complete ASTM message (H ... L) found")
    typer.echo(json.dumps(decoded, indent=2, ensure_ascii=False))


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


def _add_ble_command(characteristic: Characteristic[Any]) -> None:
    name = f"ble.{characteristic.name}"

    def command(
        hex_bytes: Annotated[
            list[str],
            typer.Argument(
                metavar="HEX", help="The characteristic value in hex, e.g. '1E 78 00' or 1e:78:00."
            ),
        ],
    ) -> None:
        data = _parse_hex(" ".join(hex_bytes))
        try:
            described = describe_ble(characteristic, characteristic.decode(data))
        except (BleDecodeError, ValueError) as exc:
            _fail(f"{name}: {exc}")
        typer.echo(json.dumps(described, indent=2, ensure_ascii=False))

    decode_app.command(
        name,
        help=(
            f"Print one {characteristic.title} value (0x{characteristic.uuid16:04X}) as JSON, with the "
            "observations it yields; exit 2 with one line naming the byte offset and field if it is unusable."
        ),
    )(command)


def _parse_hex(text: str) -> bytes:
    """Bytes from hex pairs, optionally separated by spaces or colons (as nRF Connect and btmon show them)."""
    try:
        return bytes.fromhex(text.replace(":", " "))
    except ValueError:
        _fail(f"HEX: pairs of hexadecimal digits such as '1E 78 00' or 1e:78:00, found {text!r}")


for _characteristic in CHARACTERISTICS.values():
    _add_ble_command(_characteristic)
