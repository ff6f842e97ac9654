"""Temperature Measurement (0x2A1C) and Intermediate Temperature (0x2A1E).

GATT Specification Supplement §3.216 (Temperature Measurement) and §3.219 (Temperature Type);
Health Thermometer Service (HTS) v1.0. Layout, little-endian, optional fields in this order when
their flag is set:

- flags (1): bit 0 unit (0 Celsius, 1 Fahrenheit), 1 time stamp, 2 temperature type;
- temperature (FLOAT, in the flagged unit);
- time stamp (Date Time, 7);
- temperature type (1): 1 armpit, 2 body (general), 3 ear, 4 finger, 5 gastro-intestinal tract,
  6 mouth, 7 rectum, 8 toe, 9 tympanum (ear drum); 0 and 10-255 reserved.

Intermediate Temperature has the same layout and carries readings while the thermometer is
still measuring: it is decoded but yields no observation. Reserved flag bits are ignored; a
reserved temperature type is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from careedge_common.codes import BODY_TEMPERATURE
from careedge_common.envelope import Observation
from drivers.ble.datetime_field import DateTime, read_date_time, write_date_time
from drivers.ble.ieee11073 import MedFloat
from drivers.ble.observations import observe
from drivers.ble.wire import Reader, Writer

_FLAG_FAHRENHEIT = 0x01
_FLAG_TIMESTAMP = 0x02
_FLAG_TYPE = 0x04


class TemperatureUnit(StrEnum):
    """UCUM codes of the two units the flags can name."""

    CELSIUS = "Cel"
    FAHRENHEIT = "[degF]"


class TemperatureType(StrEnum):
    """Where on the body the temperature was taken."""

    ARMPIT = "armpit"
    BODY = "body"
    EAR = "ear"
    FINGER = "finger"
    GASTROINTESTINAL_TRACT = "gastrointestinal_tract"
    MOUTH = "mouth"
    RECTUM = "rectum"
    TOE = "toe"
    TYMPANUM = "tympanum"


_TYPES = dict(enumerate(TemperatureType, start=1))
_TYPE_CODES = {member: code for code, member in _TYPES.items()}


@dataclass(frozen=True, slots=True)
class TemperatureMeasurement:
    """One finished temperature reading (0x2A1C), in ``unit``."""

    unit: TemperatureUnit
    temperature: MedFloat
    timestamp: DateTime | None = None
    temperature_type: TemperatureType | None = None

    @property
    def device_time(self) -> datetime | None:
        """The time stamp as device wall-clock time (no zone; the driver applies the site's)."""
        return self.timestamp.naive if self.timestamp is not None else None


@dataclass(frozen=True, slots=True)
class IntermediateTemperature:
    """A reading while the measurement is still in progress (0x2A1E): for display, never stored."""

    unit: TemperatureUnit
    temperature: MedFloat
    timestamp: DateTime | None = None
    temperature_type: TemperatureType | None = None

    @property
    def device_time(self) -> datetime | None:
        """As ``TemperatureMeasurement.device_time``."""
        return self.timestamp.naive if self.timestamp is not None else None


def decode_temperature(data: bytes) -> TemperatureMeasurement:
    """Raises ``BleDecodeError`` for a value that is short, long or holds a reserved type."""
    return TemperatureMeasurement(*_read(data))


def encode_temperature(value: TemperatureMeasurement) -> bytes:
    """Raises ``ValueError`` naming the field that does not fit its wire type."""
    return _write(value.unit, value.temperature, value.timestamp, value.temperature_type)


def temperature_observations(value: TemperatureMeasurement) -> list[Observation]:
    """Body temperature (8310-5) in Cel, a Fahrenheit reading converted with its raw value kept."""
    return observe(BODY_TEMPERATURE, value.temperature, value.unit)


def decode_intermediate_temperature(data: bytes) -> IntermediateTemperature:
    """Raises ``BleDecodeError`` as ``decode_temperature`` does."""
    return IntermediateTemperature(*_read(data))


def encode_intermediate_temperature(value: IntermediateTemperature) -> bytes:
    """Raises ``ValueError`` naming the field that does not fit its wire type."""
    return _write(value.unit, value.temperature, value.timestamp, value.temperature_type)


def intermediate_temperature_observations(value: IntermediateTemperature) -> list[Observation]:
    """None: the thermometer has not finished, so the value is not the resident's temperature."""
    return []


def _read(data: bytes) -> tuple[TemperatureUnit, MedFloat, DateTime | None, TemperatureType | None]:
    reader = Reader(data)
    flags = reader.uint8("flags")
    unit = TemperatureUnit.FAHRENHEIT if flags & _FLAG_FAHRENHEIT else TemperatureUnit.CELSIUS
    temperature = reader.float32("temperature")
    timestamp = read_date_time(reader, "timestamp") if flags & _FLAG_TIMESTAMP else None
    temperature_type = None
    if flags & _FLAG_TYPE:
        offset = reader.offset
        code = reader.uint8("temperature_type")
        temperature_type = reader.enum(_TYPES, code, offset, "temperature_type", "1..9")
    reader.end()
    return unit, temperature, timestamp, temperature_type


def _write(
    unit: TemperatureUnit,
    temperature: MedFloat,
    timestamp: DateTime | None,
    temperature_type: TemperatureType | None,
) -> bytes:
    writer = Writer()
    flags = _FLAG_FAHRENHEIT if unit is TemperatureUnit.FAHRENHEIT else 0
    if timestamp is not None:
        flags |= _FLAG_TIMESTAMP
    if temperature_type is not None:
        flags |= _FLAG_TYPE
    writer.uint8(flags, "flags")
    writer.float32(temperature, "temperature")
    if timestamp is not None:
        write_date_time(writer, timestamp, "timestamp")
    if temperature_type is not None:
        writer.uint8(_TYPE_CODES[temperature_type], "temperature_type")
    return bytes(writer)
