"""E1394 (LIS2-A2) messages, H ... L, to typed observations: pure, tested on bytes.

What is read and how:
- text is UTF-8 when the whole message is valid UTF-8, else Latin-1 (every byte a character):
  nothing the gateway reads needs more than ASCII, and no byte sequence is refused;
- H (header): the delimiters (H-2), the sender (H-5, component 1, the reading's ``source_ref``),
  the message time (H-14);
- P (patient): starts a new patient. The identifier is P-3 (practice-assigned, what the care home
  uses), else P-4 (laboratory-assigned); it becomes the keyed pseudonym of ``Pseudonymiser``, with
  ``patient_id_authority`` as the assigning authority so that a resident measured on an analyzer
  and at an HL7 kiosk (PID-3.4) gets the same subject. Names (P-6) and birth dates are never read;
- O (order): O-8 collection time, O-12 action code (``Q``: a control specimen);
- R (result): R-3 test (``vocabulary``), R-4 value, R-5 unit (``conversions``), R-7 flags (``<``,
  ``>``: beyond the measuring range), R-9 status, R-13 completion time. The time of a result is
  R-13, else O-8 of its order, else H-14, read in the site's zone;
- C (comment), M (manufacturer), S (scientific) records are ignored; Q (request for orders) is
  counted and not answered; L ends the message.

Results are grouped into readings by patient and time: a meter's memory upload holds many
residents and days. A result that cannot be used is left out and listed in ``skipped`` with its
reason and position (``errors.Reason``); the rest of the message is still taken. Only a message
whose structure cannot be read raises ``AstmError``. The result holds no patient data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from careedge_common.envelope import Observation, rfc3339
from careedge_common.pseudonym import Pseudonymiser
from drivers.astm.conversions import to_observation
from drivers.astm.errors import AstmError, Position, Reason, Skipped, quoted
from drivers.astm.records import Delimiters, Record
from drivers.astm.timestamps import parse_datetime
from drivers.astm.vocabulary import Analytes, CategoricalTest, find_test
from drivers.units import UnitError

NOT_FINAL_STATUSES = frozenset("XIPSWM")
"""R-9 statuses without a final result: cannot be done, pending, preliminary, partial, questionable,
MIC level. Final (F), corrected (C), resent (R), verified (V) and blank are stored."""
QUALITY_CONTROL_ACTION = "Q"
RANGE_FLAGS = frozenset({"<", ">"})
"""R-7 flags for a result beyond the instrument's measuring range (off scale low, high)."""
RANGE_WORDS = frozenset({"LO", "HI", "LOW", "HIGH"})
MAX_NUMBER_CHARS = 16
IGNORED_RECORDS = frozenset({"C", "M", "S"})
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_BEYOND_RANGE = re.compile(r"[<>]=?\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_RECORD_SEPARATORS = re.compile(rb"\r\n|\r|\n")
UTF8_BOM = b"\xef\xbb\xbf"
TERMINATOR = "L"


@dataclass(frozen=True, slots=True)
class PatientReading:
    patient: int
    """Which P record of the message (1-based); 0 for results before any P record."""
    subject: str | None
    """Keyed pseudonym; None without an identifier or without a pseudonymiser (offline decode)."""
    identified: bool
    """The P record carried an identifier (whether or not it was pseudonymised)."""
    measured_at: datetime
    """Aware, UTC."""
    observations: tuple[Observation, ...]


@dataclass(frozen=True, slots=True)
class AstmMessage:
    sender: str
    """H-5 component 1: the instrument's name or ID, "" when the analyzer sends none."""
    readings: tuple[PatientReading, ...]
    """One per patient and time, in the order the message first names each."""
    skipped: tuple[Skipped, ...]


def parse_message(
    records: Sequence[bytes],
    *,
    timezone: ZoneInfo,
    pseudonymiser: Pseudonymiser | None,
    analytes: Analytes = Analytes.BLOOD,
    patient_id_authority: str | None = None,
) -> AstmMessage:
    """Decode one message: its records in order, each without its CR.

    ``timezone`` is the site's zone. Without a ``pseudonymiser`` (an offline decode) subjects stay
    None. Raises ``AstmError`` when the message has no H record first, bad delimiters, or a
    second H record.
    """
    if not records:
        raise AstmError(Reason.NO_HEADER, "a message beginning with an H record, found no records")
    texts = _decode(records)
    delimiters = Delimiters.from_header(texts[0])
    occurrences: dict[str, int] = {}
    reader = _Reader(
        Record.parse(texts[0], delimiters, 1, occurrences),
        timezone,
        pseudonymiser,
        analytes,
        patient_id_authority,
    )
    for index, text in enumerate(texts[1:], start=2):
        reader.read(Record.parse(text, delimiters, index, occurrences))
    return AstmMessage(
        sender=reader.header.text(5),
        readings=tuple(
            PatientReading(
                group.patient,
                group.subject,
                group.identified,
                measured_at,
                tuple(group.observations.values()),
            )
            for (_, measured_at), group in reader.groups.items()
        ),
        skipped=tuple(reader.skipped),
    )


def split_messages(data: bytes) -> list[list[bytes]]:
    """Messages written as text, one record per line (CR, LF or CR LF): a new message after each L."""
    messages: list[list[bytes]] = [[]]
    for line in _RECORD_SEPARATORS.split(data.removeprefix(UTF8_BOM)):
        if not line.strip():
            continue
        if not messages[-1] or messages[-1][-1][:1] != TERMINATOR.encode():
            messages[-1].append(line)
        else:
            messages.append([line])
    return [message for message in messages if message]


def describe(message: AstmMessage) -> dict[str, Any]:
    """A JSON-ready summary for people (``careedge decode astm``). Never holds patient data."""
    return {
        "sender": message.sender,
        "readings": [
            {
                "patient": reading.patient,
                "subject": reading.subject
                or ("(P-3 or P-4 present: pseudonymised only on a gateway)" if reading.identified else None),
                "measured_at": rfc3339(reading.measured_at),
                "obs": [observation.model_dump(exclude_none=True) for observation in reading.observations],
            }
            for reading in message.readings
        ],
        "skipped": [
            {"position": str(item.position), "reason": str(item.reason), "detail": item.detail}
            for item in message.skipped
        ],
    }


def _decode(records: Sequence[bytes]) -> list[str]:
    try:
        b"\r".join(records).decode("utf-8")
        codec = "utf-8"
    except UnicodeDecodeError:
        codec = "latin-1"
    return [record.decode(codec) for record in records]


@dataclass(frozen=True, slots=True)
class _TimeField:
    """A time stamp field, parsed only when a result needs it."""

    text: str
    position: Position

    def value(self, zone: ZoneInfo, result: Position) -> datetime:
        """Raises ``AstmError`` at the ``result`` it is read for, naming this field if it is another."""
        try:
            return parse_datetime(self.text, zone)
        except ValueError as exc:
            borrowed = "" if self.position == result.at(13) else f"{self.position} read for want of R-13: "
            raise AstmError(Reason.BAD_TIMESTAMP, borrowed + str(exc), result.at(13)) from None


@dataclass(frozen=True, slots=True)
class _Patient:
    ordinal: int
    key: tuple[str, str]
    """Groups results; holds the identifier only while the message is read, never in the result."""
    subject: str | None
    identified: bool


@dataclass(frozen=True, slots=True)
class _Order:
    collected: _TimeField | None
    control: bool


@dataclass(slots=True)
class _Group:
    patient: int
    subject: str | None
    identified: bool
    observations: dict[str, Observation] = field(default_factory=dict)


class _Reader:
    """The state of reading one message: current patient and order, results so far."""

    def __init__(
        self,
        header: Record,
        zone: ZoneInfo,
        pseudonymiser: Pseudonymiser | None,
        analytes: Analytes,
        authority: str | None,
    ) -> None:
        self.header = header
        self.groups: dict[tuple[tuple[str, str], datetime], _Group] = {}
        self.skipped: list[Skipped] = []
        self._zone = zone
        self._pseudonymiser = pseudonymiser
        self._analytes = analytes
        self._authority = authority
        self._patient = _Patient(0, ("record", "0"), None, False)
        self._order: _Order | None = None
        self._terminated = False

    def read(self, record: Record) -> None:
        if self._terminated:
            self._skip(Reason.AFTER_TERMINATOR, record.position, "a record after the L record of its message")
            return
        kind = record.type
        if kind == "H":
            raise AstmError(
                Reason.RECORD_SEQUENCE, "one H record per message, found another", record.position
            )
        if kind == "P":
            self._patient = self._read_patient(record)
            self._order = None
        elif kind == "O":
            collected = record.text(8)
            self._order = _Order(
                _TimeField(collected, record.position.at(8)) if collected else None,
                record.text(12).upper() == QUALITY_CONTROL_ACTION,
            )
        elif kind == "R":
            try:
                self._read_result(record)
            except AstmError as exc:
                self._skip(exc.reason, exc.position or record.position, exc.detail)
        elif kind == "Q":
            self._skip(Reason.QUERY_IGNORED, record.position, "a request for orders: the gateway sends none")
        elif kind == TERMINATOR:
            self._terminated = True
        elif kind not in IGNORED_RECORDS:
            self._skip(
                Reason.UNKNOWN_RECORD, record.position, f"a record type of E1394, found {quoted(kind)}"
            )

    def _read_patient(self, record: Record) -> _Patient:
        identifier = record.text(3) or record.text(4)
        ordinal = record.position.occurrence
        if not identifier:
            return _Patient(ordinal, ("record", str(ordinal)), None, False)
        subject = (
            self._pseudonymiser.subject(identifier, self._authority)
            if self._pseudonymiser is not None
            else None
        )
        return _Patient(ordinal, ("id", identifier.upper()), subject, True)

    def _read_result(self, record: Record) -> None:
        position = record.position
        if self._order is not None and self._order.control:
            raise AstmError(Reason.QUALITY_CONTROL, "result of a control specimen (its O-12 is Q)", position)
        status = record.text(9).upper()
        if status in NOT_FINAL_STATUSES:
            raise AstmError(Reason.NOT_FINAL, f"a final result status, found {status!r}", position.at(9))
        universal_id, local_code = record.text(3, 1), record.text(3, 4)
        test = find_test(universal_id, local_code, self._analytes)
        if test is None:
            raise AstmError(
                Reason.UNMAPPED_CODE,
                f"a test code this gateway knows, found {quoted(local_code or universal_id)}",
                position.at(3),
            )
        value_text = record.text(4)
        if isinstance(test, CategoricalTest):
            raise AstmError(
                Reason.NON_NUMERIC,
                f"{test.code} is reported as a category, found {quoted(value_text)}",
                position.at(4),
            )
        if not value_text:
            raise AstmError(Reason.BAD_VALUE, f"a value for {test.code}, found nothing", position.at(4))
        flag = record.text(7)
        if _BEYOND_RANGE.fullmatch(value_text) or value_text.upper() in RANGE_WORDS or flag in RANGE_FLAGS:
            raise AstmError(
                Reason.CENSORED_VALUE,
                f"a value within the measuring range for {test.code}, found {quoted(value_text)}"
                + (f" flagged {flag!r}" if flag in RANGE_FLAGS else ""),
                position.at(4),
            )
        if len(value_text) > MAX_NUMBER_CHARS or not _NUMBER.fullmatch(value_text):
            raise AstmError(
                Reason.NON_NUMERIC,
                f"a decimal number for {test.code}, found {quoted(value_text)}",
                position.at(4),
            )
        value: int | float = float(value_text) if "." in value_text else int(value_text)
        try:
            observation = to_observation(test, value, record.text(5))
        except UnitError as exc:
            raise AstmError(Reason.BAD_UNIT, str(exc), position.at(5)) from None
        measured_at = self._time(record).value(self._zone, position)
        patient = self._patient
        group = self.groups.setdefault(
            (patient.key, measured_at), _Group(patient.ordinal, patient.subject, patient.identified)
        )
        if observation.code in group.observations:
            raise AstmError(
                Reason.DUPLICATE_CODE,
                f"one {observation.code} per resident and time, found another",
                position.at(3),
            )
        group.observations[observation.code] = observation

    def _time(self, record: Record) -> _TimeField:
        completed = record.text(13)
        if completed:
            return _TimeField(completed, record.position.at(13))
        if self._order is not None and self._order.collected is not None:
            return self._order.collected
        message_time = self.header.text(14)
        if message_time:
            return _TimeField(message_time, self.header.position.at(14))
        raise AstmError(
            Reason.BAD_TIMESTAMP,
            "a completion time (R-13), collection time (O-8) or message time (H-14), found none",
            record.position.at(13),
        )

    def _skip(self, reason: Reason, position: Position, detail: str) -> None:
        self.skipped.append(Skipped(reason, position, detail))
