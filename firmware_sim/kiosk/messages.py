"""HL7 v2.5 ORU^R01 result messages as an all-in-one screening kiosk sends them.

One message is one screening session: one resident, one to three stations (blood pressure, SpO2,
temperature, weight, glucose), each an OBR group with its own observation time. Times are the
kiosk's local wall clock with its UTC offset (``20250314093012+0800``), whole seconds. The text is
UTF-8 (MSH-18 ``UNICODE UTF-8``) with segments ended by ``\\r``.

Each message comes with a ``MessageRecord`` of what it carries, so a test or the demo can reconcile
what the kiosk saw acknowledged against what was stored.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo

from firmware_sim.kiosk.residents import HL7_RESERVED_CHARACTERS, Resident
from firmware_sim.kiosk.units import MIXED_ALTERNATIVE_SHARE, UnitsMode, display_unit, format_value
from firmware_sim.kiosk.vitals import PANELS, MeasurementKind, baseline_weight_kg, draw, interpretation

CHINA_STANDARD_TIME = timezone(timedelta(hours=8))
SENDING_APPLICATION = "CAREKIOSK"
RECEIVING_APPLICATION = "CAREEDGE"
HL7_VERSION = "2.5"
PROCESSING_ID = "P"
COUNTRY_CODE = "CHN"
CHARACTER_SET = "UNICODE UTF-8"
IDENTIFIER_TYPE = "MR"
HL7_TIMESTAMP_FORMAT = "%Y%m%d%H%M%S%z"
SEGMENT_TERMINATOR = "\r"

SESSION_SIZE_WEIGHTS = (0.5, 0.3, 0.2)
"""Chance that a session has one, two or three stations."""
TRANSMIT_DELAY_S = 2
"""The last station's result is sent this long after it was measured."""

CONTROL_ID_COUNTER_DIGITS = 6
"""MSH-10 is ``yymmddHHMMSS`` of the kiosk start, two random hex digits, then a counter: 20 characters
(the ST length limit of HL7 v2.5), unique for a million messages per run, across restarts, and
across kiosks started in the same second but for one chance in 256."""


@dataclass(frozen=True, slots=True)
class SentObservation:
    """One OBX: ``value``/``unit`` exactly as sent; ``canonical_*`` what the kiosk measured."""

    code: str
    name: str
    value: float
    unit: str
    canonical_value: float
    canonical_unit: str
    observed_at: datetime
    interpretation: str
    """OBX-8: ``N``, ``L``, ``H``, ``LL`` or ``HH``."""


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """What one message carries; ``measured_at`` is the first station's time (aware, kiosk offset)."""

    control_id: str
    resident_id: str = field(repr=False)
    measured_at: datetime
    kinds: tuple[MeasurementKind, ...]
    observations: tuple[SentObservation, ...]


@dataclass(frozen=True, slots=True)
class BuiltMessage:
    payload: bytes
    """UTF-8 HL7 text, not yet MLLP-framed."""
    record: MessageRecord


class ControlIds:
    """MSH-10 values for one kiosk run."""

    def __init__(self, started: datetime) -> None:
        self._prefix = f"{started:%y%m%d%H%M%S}{secrets.token_hex(1).upper()}"
        self._counter = 0

    def next(self) -> str:
        self._counter = (self._counter + 1) % 10**CONTROL_ID_COUNTER_DIGITS
        return f"{self._prefix}{self._counter:0{CONTROL_ID_COUNTER_DIGITS}d}"


class MessageBuilder:
    """Draws a session's readings from ``rng`` and writes the ORU^R01 message for it.

    ``abnormal`` is the share of stations whose reading follows an abnormal scenario. ``clock``
    returns the kiosk's aware local time (defaults to now in ``utc_offset``). Raises ``ValueError``
    for a facility or device name that would break the HL7 structure.
    """

    def __init__(
        self,
        *,
        rng: random.Random,
        facility: str,
        device_id: str,
        units: UnitsMode = UnitsMode.METRIC,
        abnormal: float = 0.0,
        kinds: Sequence[MeasurementKind] = tuple(MeasurementKind),
        utc_offset: tzinfo = CHINA_STANDARD_TIME,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        for label, value in (("facility", facility), ("device_id", device_id)):
            if not value or any(character in HL7_RESERVED_CHARACTERS for character in value):
                raise ValueError(f"{label} must be non-empty and free of HL7 delimiters (| ^ ~ \\ &)")
        if not 0.0 <= abnormal <= 1.0:
            raise ValueError("abnormal must be a fraction between 0 and 1")
        if not kinds:
            raise ValueError("at least one measurement kind is needed")
        self._rng = rng
        self._facility = facility
        self._device_id = device_id
        self._units = units
        self._abnormal = abnormal
        self._kinds = tuple(dict.fromkeys(kinds))
        self._clock = clock or (lambda: datetime.now(utc_offset))

    def build(self, resident: Resident, control_id: str) -> BuiltMessage:
        sent_at = self._clock().replace(microsecond=0)
        if sent_at.utcoffset() is None:
            raise ValueError("the kiosk clock must return an aware datetime")
        session = self._session_kinds()
        times = _station_times(sent_at, session)
        segments = [self._msh(sent_at, control_id), self._pid(resident)]
        observations: list[SentObservation] = []
        for group, (kind, observed_at) in enumerate(zip(session, times, strict=True), start=1):
            panel = PANELS[kind]
            segments.append(
                f"OBR|{group}||{control_id}-{group}|{panel.code}^{panel.name}^LN|||{_hl7_time(observed_at)}"
            )
            readings = draw(
                kind,
                self._rng,
                abnormal=self._rng.random() < self._abnormal,
                baseline_weight=baseline_weight_kg(resident.resident_id, resident.sex),
            )
            alternative = self._units is UnitsMode.MIXED and self._rng.random() < MIXED_ALTERNATIVE_SHARE
            for obs_kind, canonical in readings:
                unit = display_unit(obs_kind, alternative)
                observation = SentObservation(
                    code=obs_kind.code,
                    name=obs_kind.name,
                    value=unit.from_canonical(canonical),
                    unit=unit.unit,
                    canonical_value=canonical,
                    canonical_unit=obs_kind.unit,
                    observed_at=observed_at,
                    interpretation=interpretation(obs_kind, canonical),
                )
                observations.append(observation)
                segments.append(
                    self._obx(len(observations), observation, format_value(observation.value, unit))
                )
        record = MessageRecord(
            control_id=control_id,
            resident_id=resident.resident_id,
            measured_at=times[0],
            kinds=session,
            observations=tuple(observations),
        )
        text = SEGMENT_TERMINATOR.join(segments) + SEGMENT_TERMINATOR
        return BuiltMessage(text.encode("utf-8"), record)

    def _session_kinds(self) -> tuple[MeasurementKind, ...]:
        sizes = range(1, min(len(SESSION_SIZE_WEIGHTS), len(self._kinds)) + 1)
        size = self._rng.choices(sizes, SESSION_SIZE_WEIGHTS[: len(sizes)])[0]
        chosen = set(self._rng.sample(self._kinds, size))
        return tuple(kind for kind in self._kinds if kind in chosen)

    def _msh(self, sent_at: datetime, control_id: str) -> str:
        return (
            f"MSH|^~\\&|{SENDING_APPLICATION}|{self._facility}|{RECEIVING_APPLICATION}|{self._facility}|"
            f"{_hl7_time(sent_at)}||ORU^R01^ORU_R01|{control_id}|{PROCESSING_ID}|{HL7_VERSION}|||||"
            f"{COUNTRY_CODE}|{CHARACTER_SET}"
        )

    def _pid(self, resident: Resident) -> str:
        birth_date = f"{resident.birth_date:%Y%m%d}" if resident.birth_date else ""
        return (
            f"PID|1||{resident.resident_id}^^^{self._facility}^{IDENTIFIER_TYPE}||"
            f"{resident.family_name}^{resident.given_name}||{birth_date}|{resident.sex or ''}"
        )

    def _obx(self, set_id: int, observation: SentObservation, value_text: str) -> str:
        return (
            f"OBX|{set_id}|NM|{observation.code}^{observation.name}^LN||{value_text}|"
            f"{observation.unit}^{observation.unit}^UCUM||{observation.interpretation}|||F|||"
            f"{_hl7_time(observation.observed_at)}||||{self._device_id}"
        )


def _station_times(sent_at: datetime, session: Sequence[MeasurementKind]) -> list[datetime]:
    """Stations are measured one after another; the last finished just before sending."""
    times: list[datetime] = []
    finished = sent_at - timedelta(seconds=TRANSMIT_DELAY_S)
    for kind in reversed(session):
        times.append(finished)
        finished -= timedelta(seconds=PANELS[kind].duration_s)
    return times[::-1]


def _hl7_time(moment: datetime) -> str:
    return moment.strftime(HL7_TIMESTAMP_FORMAT)
