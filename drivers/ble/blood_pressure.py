"""Blood Pressure Measurement (0x2A35) and Intermediate Cuff Pressure (0x2A36).

GATT Specification Supplement §3.31 and §3.126; Blood Pressure Service (BLS) v1.0. Layout,
little-endian, optional fields in this order when their flag is set:

- flags (1): bit 0 unit (0 mmHg, 1 kPa), 1 time stamp, 2 pulse rate, 3 user ID, 4 measurement status;
- systolic, diastolic, mean arterial pressure (SFLOAT each, in the flagged unit);
- time stamp (Date Time, 7), pulse rate (SFLOAT, beats per minute), user ID (1; 255 unknown user);
- measurement status (2): bit 0 body movement, 1 cuff too loose, 2 irregular pulse, bits 3-4 pulse
  rate range (0 within, 1 above the upper limit, 2 below the lower limit, 3 reserved), bit 5
  improper measurement position.

Intermediate Cuff Pressure has the same layout; the systolic field carries the current cuff
pressure and the diastolic and mean fields are unused (sent as NaN; their content is ignored).
Reserved flag and status bits are ignored, as the Core Specification (Vol 1, Part E, "Reserved
for Future Use") asks of a receiver; a reserved pulse-rate-range value is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from careedge_common.codes import DIASTOLIC, MEAN_ARTERIAL, PULSE, SYSTOLIC
from careedge_common.envelope import Observation
from drivers.ble.datetime_field import DateTime, read_date_time, write_date_time
from drivers.ble.ieee11073 import MedFloat, Special
from drivers.ble.observations import observe
from drivers.ble.wire import Reader, Writer, pack_bits, unpack_bits

UNKNOWN_USER = 0xFF
"""User ID value meaning the device does not know who measured."""
_FLAG_KPA = 0x01
_FLAG_TIMESTAMP = 0x02
_FLAG_PULSE_RATE = 0x04
_FLAG_USER_ID = 0x08
_FLAG_STATUS = 0x10
_STATUS_BITS = {"body_movement": 0, "cuff_too_loose": 1, "irregular_pulse": 2, "improper_position": 5}
_PULSE_RATE_RANGE_SHIFT = 3
_PULSE_RATE_RANGE_MASK = 0b11


class PressureUnit(StrEnum):
    """UCUM codes of the two units the flags can name."""

    MMHG = "mm[Hg]"
    KPA = "kPa"


class PulseRateRange(StrEnum):
    WITHIN_RANGE = "within_range"
    ABOVE_UPPER_LIMIT = "above_upper_limit"
    BELOW_LOWER_LIMIT = "below_lower_limit"


_PULSE_RATE_RANGES = {
    0: PulseRateRange.WITHIN_RANGE,
    1: PulseRateRange.ABOVE_UPPER_LIMIT,
    2: PulseRateRange.BELOW_LOWER_LIMIT,
}
_PULSE_RATE_RANGE_CODES = {member: code for code, member in _PULSE_RATE_RANGES.items()}


@dataclass(frozen=True, slots=True)
class BloodPressureStatus:
    """The Measurement Status field: what the cuff noticed while measuring."""

    body_movement: bool
    cuff_too_loose: bool
    irregular_pulse: bool
    pulse_rate_range: PulseRateRange
    improper_position: bool


@dataclass(frozen=True, slots=True)
class BloodPressureMeasurement:
    """One finished blood pressure measurement (0x2A35), values in ``unit``."""

    unit: PressureUnit
    systolic: MedFloat
    diastolic: MedFloat
    mean_arterial: MedFloat
    """NaN when the cuff does not compute it."""
    timestamp: DateTime | None = None
    pulse_rate: MedFloat | None = None
    """Beats per minute."""
    user_id: int | None = None
    """Device-local user index; ``UNKNOWN_USER`` (255) when the cuff does not know."""
    status: BloodPressureStatus | None = None

    @property
    def device_time(self) -> datetime | None:
        """The time stamp as device wall-clock time (no zone; the driver applies the site's)."""
        return self.timestamp.naive if self.timestamp is not None else None


@dataclass(frozen=True, slots=True)
class IntermediateCuffPressure:
    """The cuff pressure while a measurement is in progress (0x2A36): for display, never stored."""

    unit: PressureUnit
    cuff_pressure: MedFloat
    timestamp: DateTime | None = None
    pulse_rate: MedFloat | None = None
    user_id: int | None = None
    status: BloodPressureStatus | None = None

    @property
    def device_time(self) -> datetime | None:
        """As ``BloodPressureMeasurement.device_time``."""
        return self.timestamp.naive if self.timestamp is not None else None


@dataclass(frozen=True, slots=True)
class _Optional:
    timestamp: DateTime | None
    pulse_rate: MedFloat | None
    user_id: int | None
    status: BloodPressureStatus | None


def decode_blood_pressure(data: bytes) -> BloodPressureMeasurement:
    """Raises ``BleDecodeError`` for a value that is short, long or holds a reserved value."""
    reader = Reader(data)
    flags = reader.uint8("flags")
    systolic = reader.sfloat("systolic")
    diastolic = reader.sfloat("diastolic")
    mean_arterial = reader.sfloat("mean_arterial")
    rest = _read_optional(reader, flags)
    return BloodPressureMeasurement(
        _unit(flags),
        systolic,
        diastolic,
        mean_arterial,
        rest.timestamp,
        rest.pulse_rate,
        rest.user_id,
        rest.status,
    )


def encode_blood_pressure(value: BloodPressureMeasurement) -> bytes:
    """Raises ``ValueError`` naming the field that does not fit its wire type."""
    writer = Writer()
    writer.uint8(_flags(value.unit, value.timestamp, value.pulse_rate, value.user_id, value.status), "flags")
    writer.sfloat(value.systolic, "systolic")
    writer.sfloat(value.diastolic, "diastolic")
    writer.sfloat(value.mean_arterial, "mean_arterial")
    _write_optional(writer, value.timestamp, value.pulse_rate, value.user_id, value.status)
    return bytes(writer)


def blood_pressure_observations(value: BloodPressureMeasurement) -> list[Observation]:
    """Systolic, diastolic, mean (8478-0) and pulse in canonical units; special values left out."""
    return [
        *observe(SYSTOLIC, value.systolic, value.unit),
        *observe(DIASTOLIC, value.diastolic, value.unit),
        *observe(MEAN_ARTERIAL, value.mean_arterial, value.unit),
        *observe(PULSE, value.pulse_rate, "/min"),
    ]


def decode_intermediate_cuff_pressure(data: bytes) -> IntermediateCuffPressure:
    """Raises ``BleDecodeError`` as ``decode_blood_pressure`` does; the unused fields must be present."""
    reader = Reader(data)
    flags = reader.uint8("flags")
    cuff_pressure = reader.sfloat("cuff_pressure")
    reader.sfloat("unused_diastolic")
    reader.sfloat("unused_mean_arterial")
    rest = _read_optional(reader, flags)
    return IntermediateCuffPressure(
        _unit(flags), cuff_pressure, rest.timestamp, rest.pulse_rate, rest.user_id, rest.status
    )


def encode_intermediate_cuff_pressure(value: IntermediateCuffPressure) -> bytes:
    """The unused diastolic and mean fields are sent as NaN, as BLS requires."""
    writer = Writer()
    writer.uint8(_flags(value.unit, value.timestamp, value.pulse_rate, value.user_id, value.status), "flags")
    writer.sfloat(value.cuff_pressure, "cuff_pressure")
    writer.sfloat(Special.NAN, "unused_diastolic")
    writer.sfloat(Special.NAN, "unused_mean_arterial")
    _write_optional(writer, value.timestamp, value.pulse_rate, value.user_id, value.status)
    return bytes(writer)


def intermediate_cuff_pressure_observations(value: IntermediateCuffPressure) -> list[Observation]:
    """None: a pressure on the way up or down is progress for the display, not a vital sign."""
    return []


def _unit(flags: int) -> PressureUnit:
    return PressureUnit.KPA if flags & _FLAG_KPA else PressureUnit.MMHG


def _read_optional(reader: Reader, flags: int) -> _Optional:
    timestamp = read_date_time(reader, "timestamp") if flags & _FLAG_TIMESTAMP else None
    pulse_rate = reader.sfloat("pulse_rate") if flags & _FLAG_PULSE_RATE else None
    user_id = reader.uint8("user_id") if flags & _FLAG_USER_ID else None
    status = _read_status(reader) if flags & _FLAG_STATUS else None
    reader.end()
    return _Optional(timestamp, pulse_rate, user_id, status)


def _read_status(reader: Reader) -> BloodPressureStatus:
    offset = reader.offset
    raw = reader.uint16("status")
    pulse_rate_range = reader.enum(
        _PULSE_RATE_RANGES,
        raw >> _PULSE_RATE_RANGE_SHIFT & _PULSE_RATE_RANGE_MASK,
        offset,
        "status.pulse_rate_range",
        "0 (within range), 1 (above upper limit) or 2 (below lower limit) in bits 3-4",
    )
    return BloodPressureStatus(pulse_rate_range=pulse_rate_range, **unpack_bits(raw, _STATUS_BITS))


def _flags(
    unit: PressureUnit,
    timestamp: DateTime | None,
    pulse_rate: MedFloat | None,
    user_id: int | None,
    status: BloodPressureStatus | None,
) -> int:
    flags = _FLAG_KPA if unit is PressureUnit.KPA else 0
    for present, flag in (
        (timestamp, _FLAG_TIMESTAMP),
        (pulse_rate, _FLAG_PULSE_RATE),
        (user_id, _FLAG_USER_ID),
        (status, _FLAG_STATUS),
    ):
        if present is not None:
            flags |= flag
    return flags


def _write_optional(
    writer: Writer,
    timestamp: DateTime | None,
    pulse_rate: MedFloat | None,
    user_id: int | None,
    status: BloodPressureStatus | None,
) -> None:
    if timestamp is not None:
        write_date_time(writer, timestamp, "timestamp")
    if pulse_rate is not None:
        writer.sfloat(pulse_rate, "pulse_rate")
    if user_id is not None:
        writer.uint8(user_id, "user_id")
    if status is not None:
        range_code = _PULSE_RATE_RANGE_CODES[status.pulse_rate_range]
        raw = pack_bits(status, _STATUS_BITS) | range_code << _PULSE_RATE_RANGE_SHIFT
        writer.uint16(raw, "status")
