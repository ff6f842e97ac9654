"""Heart Rate Measurement (0x2A37).

GATT Specification Supplement, Heart Rate Measurement; Heart Rate Service (HRS) v1.0. Layout,
little-endian, optional fields in this order when their flag is set:

- flags (1): bit 0 value format (0 uint8, 1 uint16), bits 1-2 sensor contact (0 or 1 not
  supported, 2 supported but not detected, 3 detected), bit 3 energy expended, bit 4 RR-intervals;
- heart rate (uint8 or uint16, beats per minute);
- energy expended (uint16, kJ since the last reset; stays at 65535 once reached);
- RR-intervals (uint16 each, 1/1024 s), one or more, oldest first, to the end of the value.

Reserved flag bits (5-7) are ignored. The value has no time stamp: it is measured as it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from careedge_common.codes import PULSE
from careedge_common.envelope import Observation
from drivers.ble.errors import BleDecodeError, Reason
from drivers.ble.observations import canonical
from drivers.ble.wire import Reader, Writer

RR_INTERVAL_STEP_S = Decimal(1) / Decimal(1024)
"""Seconds per RR-interval count (exact: 0.0009765625)."""
ENERGY_EXPENDED_MAXIMUM = 0xFFFF
_FLAG_UINT16 = 0x01
_SENSOR_CONTACT_SHIFT = 1
_SENSOR_CONTACT_MASK = 0b11
_FLAG_ENERGY = 0x08
_FLAG_RR = 0x10
_RR_INTERVAL_SIZE = 2


class HeartRateFormat(StrEnum):
    UINT8 = "uint8"
    UINT16 = "uint16"


class SensorContact(StrEnum):
    NOT_SUPPORTED = "not_supported"
    NOT_DETECTED = "not_detected"
    """The sensor can tell, and says it is not touching the skin: the rate is not trustworthy."""
    DETECTED = "detected"


_SENSOR_CONTACT = {
    0: SensorContact.NOT_SUPPORTED,
    1: SensorContact.NOT_SUPPORTED,
    2: SensorContact.NOT_DETECTED,
    3: SensorContact.DETECTED,
}
_SENSOR_CONTACT_CODES = {
    SensorContact.NOT_SUPPORTED: 0,
    SensorContact.NOT_DETECTED: 2,
    SensorContact.DETECTED: 3,
}


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    heart_rate: int
    """Beats per minute."""
    value_format: HeartRateFormat = HeartRateFormat.UINT8
    """How the rate was sent; a rate above 255 needs ``UINT16``."""
    sensor_contact: SensorContact = SensorContact.NOT_SUPPORTED
    energy_expended_kj: int | None = None
    rr_intervals: tuple[int, ...] = ()
    """Counts of 1/1024 s (``RR_INTERVAL_STEP_S``), oldest first; empty when none were sent."""

    @property
    def rr_intervals_s(self) -> tuple[Decimal, ...]:
        """The RR-intervals in seconds, exactly."""
        return tuple(count * RR_INTERVAL_STEP_S for count in self.rr_intervals)


def decode_heart_rate(data: bytes) -> HeartRateMeasurement:
    """Raises ``BleDecodeError`` for a value that is short, long, or has a half RR-interval."""
    reader = Reader(data)
    flags = reader.uint8("flags")
    wide = bool(flags & _FLAG_UINT16)
    heart_rate = reader.uint16("heart_rate") if wide else reader.uint8("heart_rate")
    contact = _SENSOR_CONTACT[flags >> _SENSOR_CONTACT_SHIFT & _SENSOR_CONTACT_MASK]
    energy = reader.uint16("energy_expended_kj") if flags & _FLAG_ENERGY else None
    intervals: tuple[int, ...] = ()
    if flags & _FLAG_RR:
        if reader.left == 0:
            raise BleDecodeError(
                Reason.SHORT, reader.offset, "rr_intervals", "at least one 2-byte RR-interval, 0 bytes left"
            )
        count, odd = divmod(reader.left, _RR_INTERVAL_SIZE)
        intervals = tuple(reader.uint16(f"rr_intervals[{index}]") for index in range(count + odd))
    reader.end()
    value_format = HeartRateFormat.UINT16 if wide else HeartRateFormat.UINT8
    return HeartRateMeasurement(heart_rate, value_format, contact, energy, intervals)


def encode_heart_rate(value: HeartRateMeasurement) -> bytes:
    """Raises ``ValueError`` naming the field that does not fit (e.g. a rate of 300 as ``UINT8``)."""
    flags = _SENSOR_CONTACT_CODES[value.sensor_contact] << _SENSOR_CONTACT_SHIFT
    if value.value_format is HeartRateFormat.UINT16:
        flags |= _FLAG_UINT16
    if value.energy_expended_kj is not None:
        flags |= _FLAG_ENERGY
    if value.rr_intervals:
        flags |= _FLAG_RR
    writer = Writer()
    writer.uint8(flags, "flags")
    if value.value_format is HeartRateFormat.UINT16:
        writer.uint16(value.heart_rate, "heart_rate")
    else:
        writer.uint8(value.heart_rate, "heart_rate")
    if value.energy_expended_kj is not None:
        writer.uint16(value.energy_expended_kj, "energy_expended_kj")
    for index, interval in enumerate(value.rr_intervals):
        writer.uint16(interval, f"rr_intervals[{index}]")
    return bytes(writer)


def heart_rate_observations(value: HeartRateMeasurement) -> list[Observation]:
    """Heart rate (8867-4); none when the sensor reports it is not touching the skin."""
    if value.sensor_contact is SensorContact.NOT_DETECTED:
        return []
    return [canonical(PULSE, value.heart_rate, "/min")]
