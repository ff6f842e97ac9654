"""The supported characteristics by name and UUID: the one table the BLE driver and the CLI use.

Each entry bundles the codec of one characteristic: ``decode`` (raises ``BleDecodeError`` only),
``encode`` (raises ``ValueError`` for a value that cannot be sent), ``to_observations`` (canonical
observations, never one for a special value; raises ``ValueError`` only for a magnitude above
10**9, which only a corrupted exponent produces) and ``device_time`` (the device's own time of
the measurement as a naive wall-clock ``datetime``, or None; the driver applies the site's zone).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from careedge_common.envelope import Observation
from drivers.ble import blood_pressure, glucose, heart_rate, plx, temperature, weight

BLUETOOTH_BASE_UUID = "0000{:04x}-0000-1000-8000-00805f9b34fb"
"""A 16-bit SIG UUID in the Bluetooth Base UUID, as BlueZ and bleak spell it (lower case)."""

T = TypeVar("T")


class _Timed(Protocol):
    @property
    def device_time(self) -> datetime | None: ...


def _device_time(value: _Timed) -> datetime | None:
    return value.device_time


def _no_device_time(value: object) -> datetime | None:
    return None


@dataclass(frozen=True, slots=True)
class Characteristic(Generic[T]):
    name: str
    """The CLI name: ``careedge decode ble.<name>``."""
    title: str
    """The characteristic's name in the GATT Specification Supplement."""
    uuid16: int
    value_type: type[T]
    decode: Callable[[bytes], T]
    encode: Callable[[T], bytes]
    to_observations: Callable[[T], list[Observation]]
    device_time: Callable[[T], datetime | None]

    @property
    def uuid(self) -> str:
        """The full 128-bit UUID, lower case."""
        return BLUETOOTH_BASE_UUID.format(self.uuid16)


_ALL: tuple[Characteristic[Any], ...] = (
    Characteristic(
        "blood_pressure",
        "Blood Pressure Measurement",
        0x2A35,
        blood_pressure.BloodPressureMeasurement,
        blood_pressure.decode_blood_pressure,
        blood_pressure.encode_blood_pressure,
        blood_pressure.blood_pressure_observations,
        _device_time,
    ),
    Characteristic(
        "intermediate_cuff_pressure",
        "Intermediate Cuff Pressure",
        0x2A36,
        blood_pressure.IntermediateCuffPressure,
        blood_pressure.decode_intermediate_cuff_pressure,
        blood_pressure.encode_intermediate_cuff_pressure,
        blood_pressure.intermediate_cuff_pressure_observations,
        _device_time,
    ),
    Characteristic(
        "temperature",
        "Temperature Measurement",
        0x2A1C,
        temperature.TemperatureMeasurement,
        temperature.decode_temperature,
        temperature.encode_temperature,
        temperature.temperature_observations,
        _device_time,
    ),
    Characteristic(
        "intermediate_temperature",
        "Intermediate Temperature",
        0x2A1E,
        temperature.IntermediateTemperature,
        temperature.decode_intermediate_temperature,
        temperature.encode_intermediate_temperature,
        temperature.intermediate_temperature_observations,
        _device_time,
    ),
    Characteristic(
        "plx_spot_check",
        "PLX Spot-check Measurement",
        0x2A5E,
        plx.PlxSpotCheckMeasurement,
        plx.decode_plx_spot_check,
        plx.encode_plx_spot_check,
        plx.plx_spot_check_observations,
        _device_time,
    ),
    Characteristic(
        "plx_continuous",
        "PLX Continuous Measurement",
        0x2A5F,
        plx.PlxContinuousMeasurement,
        plx.decode_plx_continuous,
        plx.encode_plx_continuous,
        plx.plx_continuous_observations,
        _no_device_time,
    ),
    Characteristic(
        "glucose",
        "Glucose Measurement",
        0x2A18,
        glucose.GlucoseMeasurement,
        glucose.decode_glucose,
        glucose.encode_glucose,
        glucose.glucose_observations,
        _device_time,
    ),
    Characteristic(
        "glucose_context",
        "Glucose Measurement Context",
        0x2A34,
        glucose.GlucoseMeasurementContext,
        glucose.decode_glucose_context,
        glucose.encode_glucose_context,
        glucose.glucose_context_observations,
        _no_device_time,
    ),
    Characteristic(
        "weight",
        "Weight Measurement",
        0x2A9D,
        weight.WeightMeasurement,
        weight.decode_weight,
        weight.encode_weight,
        weight.weight_observations,
        _device_time,
    ),
    Characteristic(
        "weight_scale_feature",
        "Weight Scale Feature",
        0x2A9E,
        weight.WeightScaleFeature,
        weight.decode_weight_scale_feature,
        weight.encode_weight_scale_feature,
        weight.weight_scale_feature_observations,
        _no_device_time,
    ),
    Characteristic(
        "heart_rate",
        "Heart Rate Measurement",
        0x2A37,
        heart_rate.HeartRateMeasurement,
        heart_rate.decode_heart_rate,
        heart_rate.encode_heart_rate,
        heart_rate.heart_rate_observations,
        _no_device_time,
    ),
)
CHARACTERISTICS: dict[str, Characteristic[Any]] = {entry.name: entry for entry in _ALL}
"""CLI name -> characteristic, in the order of the table above."""
_BY_UUID: dict[str, Characteristic[Any]] = {entry.uuid: entry for entry in _ALL}


def by_uuid(uuid: int | str) -> Characteristic[Any] | None:
    """The characteristic with this UUID: a 16-bit int (``0x2A35``), or text as bleak reports it
    (``"00002a35-0000-1000-8000-00805f9b34fb"``, any case) or short (``"2A35"``, ``"0x2a35"``).
    None when the product does not decode it."""
    if isinstance(uuid, int):
        return _BY_UUID.get(BLUETOOTH_BASE_UUID.format(uuid))
    text = uuid.strip().lower().removeprefix("0x")
    if len(text) == 4:
        try:
            return _BY_UUID.get(BLUETOOTH_BASE_UUID.format(int(text, 16)))
        except ValueError:
            return None
    return _BY_UUID.get(text)
