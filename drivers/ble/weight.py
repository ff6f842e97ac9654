"""Weight Measurement (0x2A9D) and Weight Scale Feature (0x2A9E).

GATT Specification Supplement §3.252 (Weight Measurement) and Weight Scale Feature; Weight Scale
Service (WSS) v1.0. Weight Measurement layout, little-endian, optional fields in this order when
their flag is set:

- flags (1): bit 0 units (0 SI, 1 imperial), 1 time stamp, 2 user ID, 3 BMI and height;
- weight (uint16): SI in steps of 0.005 kg, imperial in steps of 0.01 lb; 0xFFFF means
  "measurement unsuccessful";
- time stamp (Date Time, 7), user ID (1; 255 unknown user);
- BMI (uint16, steps of 0.1 kg/m2) and height (uint16: SI steps of 0.001 m, imperial 0.1 in).

The steps above are the *wire* resolution, fixed by the characteristic. How finely the scale
really measures is in the Weight Scale Feature (uint32): bit 0 time stamp supported, 1 multiple
users supported, 2 BMI supported, bits 3-6 weight resolution (1: 0.5 kg or 1 lb, 2: 0.2 kg or
0.5 lb, 3: 0.1 kg or 0.2 lb, 4: 0.05 kg or 0.1 lb, 5: 0.02 kg or 0.05 lb, 6: 0.01 kg or 0.02 lb,
7: 0.005 kg or 0.01 lb; 0 not specified, 8-15 reserved), bits 7-9 height resolution (1: 0.01 m
or 1 in, 2: 0.005 m or 0.5 in, 3: 0.001 m or 0.1 in; 0 not specified, 4-7 reserved).

WSS: with "measurement unsuccessful" only the time stamp and user ID may accompany the weight, so
BMI and height with it are refused. Reserved flag bits are ignored; reserved resolutions refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from careedge_common.codes import BODY_WEIGHT
from careedge_common.envelope import Observation
from drivers.ble.datetime_field import DateTime, read_date_time, write_date_time
from drivers.ble.errors import BleDecodeError, Reason
from drivers.ble.observations import canonical, number
from drivers.ble.wire import Reader, Writer, pack_bits, unpack_bits

MEASUREMENT_UNSUCCESSFUL = 0xFFFF
UNKNOWN_USER = 0xFF
_FLAG_IMPERIAL = 0x01
_FLAG_TIMESTAMP = 0x02
_FLAG_USER_ID = 0x04
_FLAG_BMI_HEIGHT = 0x08
_FEATURE_BITS = {"time_stamp_supported": 0, "multiple_users_supported": 1, "bmi_supported": 2}
_WEIGHT_RESOLUTION_SHIFT = 3
_WEIGHT_RESOLUTION_MASK = 0b1111
_HEIGHT_RESOLUTION_SHIFT = 7
_HEIGHT_RESOLUTION_MASK = 0b111
_NOT_SPECIFIED = 0


class WeightUnits(StrEnum):
    SI = "SI"
    """Weight in kg, height in m."""
    IMPERIAL = "imperial"
    """Weight in lb, height in inches."""


WEIGHT_STEP = {WeightUnits.SI: Decimal("0.005"), WeightUnits.IMPERIAL: Decimal("0.01")}
"""Wire resolution of the weight field: kg or lb per count."""
HEIGHT_STEP = {WeightUnits.SI: Decimal("0.001"), WeightUnits.IMPERIAL: Decimal("0.1")}
"""Wire resolution of the height field: m or inches per count."""
BMI_STEP = Decimal("0.1")
"""Wire resolution of the BMI field, kg/m2 per count."""
WEIGHT_UNIT = {WeightUnits.SI: "kg", WeightUnits.IMPERIAL: "[lb_av]"}
HEIGHT_UNIT = {WeightUnits.SI: "m", WeightUnits.IMPERIAL: "[in_i]"}
"""UCUM codes of the weight and height in each unit system."""


@dataclass(frozen=True, slots=True)
class BmiHeight:
    bmi: Decimal
    """kg/m2, a multiple of ``BMI_STEP``."""
    height: Decimal
    """m (SI) or inches (imperial), a multiple of ``HEIGHT_STEP``."""


@dataclass(frozen=True, slots=True)
class WeightMeasurement:
    """One weighing (0x2A9D)."""

    units: WeightUnits
    weight: Decimal | None
    """kg (SI) or lb (imperial), a multiple of ``WEIGHT_STEP``; None when the scale reports
    "measurement unsuccessful"."""
    timestamp: DateTime | None = None
    user_id: int | None = None
    """Device-local user index; ``UNKNOWN_USER`` (255) when the scale does not know."""
    bmi_height: BmiHeight | None = None

    @property
    def device_time(self) -> datetime | None:
        """The time stamp as device wall-clock time (no zone; the driver applies the site's)."""
        return self.timestamp.naive if self.timestamp is not None else None


@dataclass(frozen=True, slots=True)
class Resolution:
    """A resolution in both unit systems: kg and lb for weight, m and inches for height."""

    si: Decimal
    imperial: Decimal


WEIGHT_RESOLUTIONS = {
    1: Resolution(Decimal("0.5"), Decimal("1")),
    2: Resolution(Decimal("0.2"), Decimal("0.5")),
    3: Resolution(Decimal("0.1"), Decimal("0.2")),
    4: Resolution(Decimal("0.05"), Decimal("0.1")),
    5: Resolution(Decimal("0.02"), Decimal("0.05")),
    6: Resolution(Decimal("0.01"), Decimal("0.02")),
    7: Resolution(Decimal("0.005"), Decimal("0.01")),
}
"""Weight Scale Feature bits 3-6 -> how finely the scale weighs (0: not specified)."""
HEIGHT_RESOLUTIONS = {
    1: Resolution(Decimal("0.01"), Decimal("1")),
    2: Resolution(Decimal("0.005"), Decimal("0.5")),
    3: Resolution(Decimal("0.001"), Decimal("0.1")),
}
"""Weight Scale Feature bits 7-9 -> how finely the scale measures height (0: not specified)."""


@dataclass(frozen=True, slots=True)
class WeightScaleFeature:
    """What the scale supports (0x2A9E), read once after connecting."""

    time_stamp_supported: bool
    multiple_users_supported: bool
    bmi_supported: bool
    weight_resolution: Resolution | None
    """How finely the scale weighs; None when it does not say."""
    height_resolution: Resolution | None


def decode_weight(data: bytes) -> WeightMeasurement:
    """Raises ``BleDecodeError`` for a value that is short or long, or BMI with an unsuccessful weight."""
    reader = Reader(data)
    flags = reader.uint8("flags")
    units = WeightUnits.IMPERIAL if flags & _FLAG_IMPERIAL else WeightUnits.SI
    raw_weight = reader.uint16("weight")
    if raw_weight == MEASUREMENT_UNSUCCESSFUL and flags & _FLAG_BMI_HEIGHT:
        raise BleDecodeError(
            Reason.INVALID,
            0,
            "flags",
            f"no BMI and height (bit 3) with weight 0xFFFF (measurement unsuccessful), found {flags:#04x}",
        )
    weight = None if raw_weight == MEASUREMENT_UNSUCCESSFUL else raw_weight * WEIGHT_STEP[units]
    timestamp = read_date_time(reader, "timestamp") if flags & _FLAG_TIMESTAMP else None
    user_id = reader.uint8("user_id") if flags & _FLAG_USER_ID else None
    bmi_height = None
    if flags & _FLAG_BMI_HEIGHT:
        bmi = reader.uint16("bmi_height.bmi") * BMI_STEP
        bmi_height = BmiHeight(bmi, reader.uint16("bmi_height.height") * HEIGHT_STEP[units])
    reader.end()
    return WeightMeasurement(units, weight, timestamp, user_id, bmi_height)


def encode_weight(value: WeightMeasurement) -> bytes:
    """Raises ``ValueError`` for a quantity that is not a whole number of wire steps or does not fit,
    and for BMI and height with an unsuccessful measurement."""
    if value.weight is None and value.bmi_height is not None:
        raise ValueError("bmi_height: not sent with an unsuccessful measurement (weight None)")
    flags = _FLAG_IMPERIAL if value.units is WeightUnits.IMPERIAL else 0
    for present, flag in (
        (value.timestamp, _FLAG_TIMESTAMP),
        (value.user_id, _FLAG_USER_ID),
        (value.bmi_height, _FLAG_BMI_HEIGHT),
    ):
        if present is not None:
            flags |= flag
    writer = Writer()
    writer.uint8(flags, "flags")
    if value.weight is None:
        writer.uint16(MEASUREMENT_UNSUCCESSFUL, "weight")
    else:
        count = _counts(value.weight, WEIGHT_STEP[value.units], "weight")
        if count == MEASUREMENT_UNSUCCESSFUL:
            raise ValueError(f"weight: at most {(MEASUREMENT_UNSUCCESSFUL - 1) * WEIGHT_STEP[value.units]}")
        writer.uint16(count, "weight")
    if value.timestamp is not None:
        write_date_time(writer, value.timestamp, "timestamp")
    if value.user_id is not None:
        writer.uint8(value.user_id, "user_id")
    if value.bmi_height is not None:
        writer.uint16(_counts(value.bmi_height.bmi, BMI_STEP, "bmi_height.bmi"), "bmi_height.bmi")
        height = _counts(value.bmi_height.height, HEIGHT_STEP[value.units], "bmi_height.height")
        writer.uint16(height, "bmi_height.height")
    return bytes(writer)


def weight_observations(value: WeightMeasurement) -> list[Observation]:
    """Body weight (29463-7) in kg, pounds converted with their raw value kept; none when unsuccessful."""
    if value.weight is None:
        return []
    return [canonical(BODY_WEIGHT, number(value.weight), WEIGHT_UNIT[value.units])]


def decode_weight_scale_feature(data: bytes) -> WeightScaleFeature:
    """Raises ``BleDecodeError`` for a value that is not 4 bytes or names a reserved resolution."""
    reader = Reader(data)
    raw = reader.uint32("features")
    reader.end()
    weight_code = raw >> _WEIGHT_RESOLUTION_SHIFT & _WEIGHT_RESOLUTION_MASK
    height_code = raw >> _HEIGHT_RESOLUTION_SHIFT & _HEIGHT_RESOLUTION_MASK
    weight_resolution = height_resolution = None
    if weight_code != _NOT_SPECIFIED:
        weight_resolution = reader.enum(
            WEIGHT_RESOLUTIONS, weight_code, 0, "weight_resolution", "0..7 in bits 3-6"
        )
    if height_code != _NOT_SPECIFIED:
        height_resolution = reader.enum(
            HEIGHT_RESOLUTIONS, height_code, 0, "height_resolution", "0..3 in bits 7-9"
        )
    return WeightScaleFeature(
        weight_resolution=weight_resolution,
        height_resolution=height_resolution,
        **unpack_bits(raw, _FEATURE_BITS),
    )


def encode_weight_scale_feature(value: WeightScaleFeature) -> bytes:
    """Raises ``ValueError`` for a resolution the characteristic cannot name."""
    raw = pack_bits(value, _FEATURE_BITS)
    raw |= _resolution_code(value.weight_resolution, WEIGHT_RESOLUTIONS, "weight_resolution") << (
        _WEIGHT_RESOLUTION_SHIFT
    )
    raw |= _resolution_code(value.height_resolution, HEIGHT_RESOLUTIONS, "height_resolution") << (
        _HEIGHT_RESOLUTION_SHIFT
    )
    writer = Writer()
    writer.uint32(raw, "features")
    return bytes(writer)


def weight_scale_feature_observations(value: WeightScaleFeature) -> list[Observation]:
    """None: the feature describes the scale, not the resident."""
    return []


def _counts(quantity: Decimal, step: Decimal, field: str) -> int:
    count = quantity / step
    if count != count.to_integral_value() or count * step != quantity:
        raise ValueError(f"{field}: a multiple of {step}, found {quantity}")
    return int(count)


def _resolution_code(resolution: Resolution | None, codes: dict[int, Resolution], field: str) -> int:
    if resolution is None:
        return _NOT_SPECIFIED
    for code, known in codes.items():
        if known == resolution:
            return code
    raise ValueError(f"{field}: one of the resolutions the characteristic names, found {resolution}")
