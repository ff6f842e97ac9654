"""ORU^R01 (unsolicited observation result) to typed observations: pure, tested on bytes.

What is read and how:
- segments may end in \\r (the standard), \\n or \\r\\n (files written by people); blank lines are
  dropped. Text is decoded in the character set MSH-18 names, UTF-8 when it names none;
- MSH-9 must be ORU^R01 and MSH-10 (control ID) present;
- each OBX whose OBX-3 names a known LOINC or MDC code (``vocabulary``) and that has a value
  becomes one observation: OBX-2 must be NM, OBX-5 a decimal number, OBX-6 a unit convertible to
  the canonical one (``drivers.units``). OBX with result status (OBX-11) X, D or W (cannot be
  obtained, deleted, wrong) are left out; OBX with an unknown code and a value are left out and
  listed in ``unmapped``; OBX without a value (IHE PCD-01 device and group rows, a measurement
  the kiosk did not take) are left out silently;
- the time of an observation is OBX-14, else OBR-7 of the OBR it follows, else MSH-7; offsets are
  honoured and times without one are in the site's zone. Observations are grouped by time into
  ``readings``: one kiosk session measures blood pressure, then SpO2, minutes apart, and a memory
  upload spans days; each time keeps its own reading, because the time is part of a point's
  identity in the time-series store. The same code twice at one time (pulse from the cuff and
  from the oximeter) cannot be stored twice: the first is kept, the others listed in
  ``duplicates``;
- the subject is the keyed pseudonym of PID-3 (first repetition: ID and assigning authority).

Only fields the result depends on are validated. Problems raise ``Hl7Error`` (see ``errors``). The
result holds no PID data: neither the identifier nor the name can be read back from it.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import hl7

from careedge_common.envelope import Observation, rfc3339
from careedge_common.pseudonym import Pseudonymiser
from drivers.hl7.errors import Hl7Error, MessageHeader, Position, Reason
from drivers.hl7.mllp import END_BLOCK, START_BLOCK
from drivers.hl7.timestamps import parse_dtm
from drivers.hl7.vocabulary import observation_kind, unit_text
from drivers.units import UnitError, to_canonical

SKIPPED_STATUSES = frozenset({"X", "D", "W"})
"""OBX-11 result statuses that carry no result to store: cannot be obtained, deleted, wrong."""
NUMERIC_VALUE_TYPE = "NM"
MAX_NUMBER_CHARS = 16
"""The length HL7 allows an NM value."""
DEFAULT_CHARSET = "utf-8"
CHARSETS: dict[str, str] = {
    "": DEFAULT_CHARSET,
    "ASCII": "ascii",
    "UNICODE UTF-8": "utf-8",
    "8859/1": "latin-1",
    "8859/2": "iso8859-2",
    "8859/15": "iso8859-15",
    "GB 18030-2000": "gb18030",
    "KS X 1001": "euc-kr",
    "CNS 11643-1992": "big5",
    "BIG-5": "big5",
}
"""HL7 table 0211 (MSH-18 character set) -> Python codec, for the sets kiosks are known to use."""
FALLBACK_ANSWER_CHARSET = "ascii"
_MSH_CHARSET_INDEX = 17
"""MSH-18 is the 18th item when the MSH line is split on its own field separator (MSH-1 is the split)."""
DEFAULT_ENCODING_CHARACTERS = "^~\\&"
"""Component, repetition, escape and subcomponent separators where MSH-2 names fewer."""
MLLP_FRAMING_CHARACTERS = (chr(START_BLOCK), chr(END_BLOCK))
"""Never inside an MSH: an answer echoing its fields could not be framed."""
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


@dataclass(frozen=True, slots=True)
class UnmappedCode:
    """An OBX with a value whose OBX-3 code the product does not know; counted, not stored."""

    position: str
    code: str
    system: str


@dataclass(frozen=True, slots=True)
class TimedObservations:
    measured_at: datetime
    """Aware, UTC."""
    observations: tuple[Observation, ...]


@dataclass(frozen=True, slots=True)
class OruMessage:
    header: MessageHeader
    subject: str | None
    """Keyed pseudonym of PID-3; None when there is no PID-3 ID or no pseudonymiser was given."""
    identified: bool
    """PID-3 carried an identifier (whether or not it was pseudonymised)."""
    readings: tuple[TimedObservations, ...]
    """One per distinct observation time, in the order the message first names each time."""
    unmapped: tuple[UnmappedCode, ...]
    duplicates: tuple[str, ...]
    """Positions of OBX left out because the same code already has a value at that time."""

    @property
    def control_id(self) -> str:
        return self.header.control_id

    @property
    def measured_at(self) -> datetime:
        """The earliest observation time: when the screening session began."""
        return min(reading.measured_at for reading in self.readings)


def parse_oru(data: bytes, *, timezone: ZoneInfo, pseudonymiser: Pseudonymiser | None) -> OruMessage:
    """Decode one ORU^R01 message (the payload of one MLLP frame, or a file's content).

    ``timezone`` is the site's zone for times without an offset. Without a ``pseudonymiser`` (an
    offline decode) the subject stays None. Raises ``Hl7Error``, with ``header`` set whenever the
    message has a control ID to answer.
    """
    try:
        text, charset = _decode(data)
    except Hl7Error as exc:
        raise Hl7Error(exc.reason, exc.detail, exc.position, _salvage_header(data)) from None
    message = _parse(text)
    header = _header(message[0], charset)
    try:
        return _read_body(message, header, timezone, pseudonymiser)
    except Hl7Error as exc:
        raise Hl7Error(exc.reason, exc.detail, exc.position, header) from None


def describe(message: OruMessage) -> dict[str, Any]:
    """A JSON-ready summary for people (``careedge decode hl7``). Never holds PID data."""
    subject: str | None = message.subject
    if subject is None and message.identified:
        subject = "(PID-3 present: pseudonymised only on a gateway)"
    return {
        "control_id": message.control_id,
        "measured_at": rfc3339(message.measured_at),
        "subject": subject,
        "obs": [
            {**observation.model_dump(exclude_none=True), "measured_at": rfc3339(reading.measured_at)}
            for reading in message.readings
            for observation in reading.observations
        ],
        "skipped": [
            *(
                {"position": item.position, "code": item.code, "system": item.system}
                for item in message.unmapped
            ),
            *(
                {"position": position, "reason": "code already measured at that time"}
                for position in message.duplicates
            ),
        ],
    }


def _decode(data: bytes) -> tuple[str, str]:
    """The message text and the codec it was decoded with."""
    name, codec = _declared_charset(data)
    position = Position("MSH", field=18)
    if codec is None:
        known = ", ".join(charset for charset in CHARSETS if charset)
        raise Hl7Error(
            Reason.ENCODING, f"a character set this gateway reads ({known}), found {name!r}", position
        )
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode(codec), codec
    except UnicodeDecodeError as exc:
        raise Hl7Error(
            Reason.ENCODING,
            f"text in {name or 'UTF-8 (no other character set named)'}, "
            f"found byte 0x{data[exc.start]:02X} at offset {exc.start}",
            position,
        ) from None


def _declared_charset(data: bytes) -> tuple[str, str | None]:
    """MSH-18 as written and its Python codec (None when unknown), read before the text is decoded."""
    first_line = _first_line(data)
    fields = (
        first_line.split(first_line[3:4]) if first_line.startswith(b"MSH") and len(first_line) > 3 else []
    )
    declared = fields[_MSH_CHARSET_INDEX] if len(fields) > _MSH_CHARSET_INDEX else b""
    name = declared.split(first_line[4:5] or b"^")[0].decode("ascii", "replace").strip().upper()
    return name, CHARSETS.get(name)


def _first_line(data: bytes) -> bytes:
    return re.split(rb"[\r\n]", data.removeprefix(codecs.BOM_UTF8), maxsplit=1)[0]


def _parse(text: str) -> Any:
    lines = [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()]
    if not lines or not lines[0].startswith("MSH") or len(lines[0]) < 8:
        raise Hl7Error(Reason.PARSE, "an HL7 v2 message beginning with an MSH header, found none")
    if any(byte in lines[0] for byte in MLLP_FRAMING_CHARACTERS):
        raise Hl7Error(Reason.PARSE, "an MSH without MLLP framing bytes (0x0B, 0x1C), found one")
    declared = lines[0][4:].split(lines[0][3], 1)[0]
    separators = lines[0][3] + declared + DEFAULT_ENCODING_CHARACTERS[len(declared) :]
    if len(set(separators)) != len(separators) or any(
        char.isalnum() or char.isspace() for char in separators
    ):
        raise Hl7Error(
            Reason.PARSE,
            f"distinct separators that are neither letters, digits nor spaces, found {separators!r}",
            Position("MSH", field=2),
        )
    try:
        return hl7.parse("\r".join(lines))
    except (hl7.HL7Exception, IndexError, ValueError) as exc:
        raise Hl7Error(Reason.PARSE, f"an HL7 v2 message ({type(exc).__name__})") from None


def _salvage_header(data: bytes) -> MessageHeader | None:
    """The header of a message whose text cannot be decoded, so that an AE can still answer it.

    Bytes that are not text in the declared character set become replacement characters, so the
    answer is valid text in the set the sender reads (ASCII when it named one this gateway lacks).
    """
    codec = _declared_charset(data)[1] or FALLBACK_ANSWER_CHARSET
    try:
        msh = _parse(_first_line(data).decode(codec, "replace"))[0]
    except Hl7Error:
        return None
    control_id = _text(msh, 10)
    return MessageHeader(msh=str(msh), control_id=control_id, charset=codec) if control_id else None


def _text(segment: Any, field: int, component: int = 1, subcomponent: int = 1) -> str:
    """One leaf of a segment, unescaped and stripped; "" when the message stops before it."""
    try:
        return str(segment.extract_field(1, field, 1, component, subcomponent)).strip()
    except IndexError:
        return ""


def _header(msh: Any, charset: str) -> MessageHeader:
    control_id = _text(msh, 10)
    header = MessageHeader(msh=str(msh), control_id=control_id, charset=charset) if control_id else None
    message_type = (_text(msh, 9, 1), _text(msh, 9, 2))
    if message_type != ("ORU", "R01"):
        raise Hl7Error(
            Reason.NOT_ORU,
            f"message type ORU^R01, found {'^'.join(message_type)!r}",
            Position("MSH", field=9),
            header,
        )
    if header is None:
        raise Hl7Error(Reason.NO_CONTROL_ID, "a message control ID, found nothing", Position("MSH", field=10))
    return header


@dataclass(frozen=True, slots=True)
class _TimeField:
    """A time stamp field parsed only when an observation needs it."""

    text: str
    position: Position

    def value(self, zone: ZoneInfo) -> datetime:
        try:
            return parse_dtm(self.text, zone)
        except ValueError as exc:
            raise Hl7Error(Reason.BAD_TIMESTAMP, str(exc), self.position) from None


def _read_body(
    message: Any, header: MessageHeader, zone: ZoneInfo, pseudonymiser: Pseudonymiser | None
) -> OruMessage:
    message_time = _TimeField(_text(message[0], 7), Position("MSH", field=7))
    request_time: _TimeField | None = None
    occurrences: dict[str, int] = {}
    subject: str | None = None
    identified = False
    groups: dict[datetime, dict[str, Observation]] = {}
    duplicates: list[str] = []
    unmapped: list[UnmappedCode] = []
    for segment in message[1:]:
        name = str(segment[0])
        occurrence = occurrences[name] = occurrences.get(name, 0) + 1
        if name == "MSH":
            raise Hl7Error(Reason.PARSE, "one message per frame, found a second MSH", Position("MSH", 2))
        if name == "PID" and occurrence == 1:
            identified, subject = _subject(segment, pseudonymiser)
        elif name == "OBR":
            obr_time = _text(segment, 7)
            request_time = _TimeField(obr_time, Position("OBR", occurrence, 7)) if obr_time else None
        elif name == "OBX":
            position = Position("OBX", occurrence)
            read = _observation(segment, position, unmapped)
            if read is not None:
                own_time = _text(segment, 14)
                time_field = (
                    _TimeField(own_time, Position("OBX", occurrence, 14))
                    if own_time
                    else (request_time or message_time)
                )
                group = groups.setdefault(time_field.value(zone), {})
                if read.code in group:
                    duplicates.append(str(position))
                else:
                    group[read.code] = read
    if not groups:
        raise Hl7Error(
            Reason.NO_OBSERVATIONS,
            f"an OBX with a known code and a value, found none ({len(unmapped)} with an unknown code)",
        )
    return OruMessage(
        header=header,
        subject=subject,
        identified=identified,
        readings=tuple(
            TimedObservations(measured_at, tuple(observations.values()))
            for measured_at, observations in groups.items()
        ),
        unmapped=tuple(unmapped),
        duplicates=tuple(duplicates),
    )


def _subject(pid: Any, pseudonymiser: Pseudonymiser | None) -> tuple[bool, str | None]:
    """PID-3 read as sent, without the hl7 library's unescaping: that logs the whole field when an
    escape sequence is malformed, and a resident's ID must never reach a log."""
    _, repetition, component, subcomponent = pid.separators[1:5]
    field = str(pid(3)) if len(pid) > 3 else ""
    parts = field.split(repetition, 1)[0].split(component)
    identifier = parts[0].strip()
    if not identifier:
        return False, None
    if pseudonymiser is None:
        return True, None
    authority = parts[3].strip(subcomponent + " ") if len(parts) > 3 else ""
    return True, pseudonymiser.subject(identifier, authority or None)


def _observation(obx: Any, position: Position, unmapped: list[UnmappedCode]) -> Observation | None:
    value_text = _text(obx, 5)
    if not value_text or _text(obx, 11).upper() in SKIPPED_STATUSES:
        return None
    codings = [(_text(obx, 3, first), _text(obx, 3, first + 2)) for first in (1, 4)]
    kind = next(
        (found for code, system in codings if code and (found := observation_kind(code, system))), None
    )
    if kind is None:
        code, system = codings[0]
        unmapped.append(UnmappedCode(position=str(position), code=code, system=system))
        return None
    value_type = _text(obx, 2).upper()
    if value_type != NUMERIC_VALUE_TYPE:
        raise Hl7Error(
            Reason.BAD_VALUE, f"value type NM for {kind.code}, found {value_type!r}", _at(position, 2)
        )
    if len(value_text) > MAX_NUMBER_CHARS:
        raise Hl7Error(
            Reason.BAD_VALUE,
            f"a number of at most {MAX_NUMBER_CHARS} characters for {kind.code}, found {len(value_text)}",
            _at(position, 5),
        )
    if not _NUMBER.fullmatch(value_text):
        raise Hl7Error(
            Reason.BAD_VALUE, f"a decimal number for {kind.code}, found {value_text!r}", _at(position, 5)
        )
    value: int | float = float(value_text) if "." in value_text else int(value_text)
    unit = unit_text(_text(obx, 6, 1), _text(obx, 6, 2), _text(obx, 6, 3))
    if unit is None:
        raise Hl7Error(Reason.BAD_UNIT, f"a unit for {kind.code}, found nothing", _at(position, 6))
    try:
        return to_canonical(kind, value, unit)
    except UnitError as exc:
        raise Hl7Error(Reason.BAD_UNIT, str(exc), _at(position, 6)) from None


def _at(position: Position, field: int) -> Position:
    return Position(position.segment, position.occurrence, field)
