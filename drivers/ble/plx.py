"""PLX Spot-check Measurement (0x2A5E) and PLX Continuous Measurement (0x2A5F): pulse oximetry.

GATT Specification Supplement, PLX Spot-check Measurement and PLX Continuous Measurement; Pulse
Oximeter Service (PLXS) v1.0. Layout, little-endian, optional fields in this order when their
flag is set.

Spot-check: flags (1: bit 0 timestamp, 1 measurement status, 2 device and sensor status, 3 pulse
amplitude index, 4 device clock is not set); SpO2 (SFLOAT, %) and pulse rate (SFLOAT, beats per
minute); timestamp (Date Time, 7); measurement status (2); device and sensor status (3); pulse
amplitude index (SFLOAT, %).

Continuous: flags (1: bit 0 SpO2PR-Fast, 1 SpO2PR-Slow, 2 measurement status, 3 device and sensor
status, 4 pulse amplitude index); SpO2PR-Normal (SpO2 and pulse rate, SFLOAT each); SpO2PR-Fast;
SpO2PR-Slow; then the three status fields as above.

Measurement status bits 5-15: measurement ongoing, early estimated data, validated data, fully
qualified data, data from measurement storage, data for demonstration, data for testing,
calibration ongoing, measurement unavailable, questionable measurement detected, invalid
measurement detected. Device and sensor status bits 0-15: extended display update ongoing,
equipment malfunction, signal processing irregularity, inadequate signal, poor signal, low
perfusion, erratic signal, non-pulsatile signal, questionable pulse, signal analysis ongoing,
sensor interference, sensor unconnected to user, unknown sensor connected, sensor displaced,
sensor malfunctioning, sensor disconnected. Reserved bits (status 0-4, device and sensor status
16-23, flags 5-7) are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from careedge_common.codes import PULSE, SPO2
from careedge_common.envelope import Observation
from drivers.ble.datetime_field import DateTime, read_date_time, write_date_time
from drivers.ble.ieee11073 import MedFloat
from drivers.ble.observations import observe
from drivers.ble.wire import Reader, Writer, pack_bits, unpack_bits

_SPOT_FLAG_TIMESTAMP = 0x01
_SPOT_FLAG_MEASUREMENT_STATUS = 0x02
_SPOT_FLAG_DEVICE_STATUS = 0x04
_SPOT_FLAG_PULSE_AMPLITUDE = 0x08
_SPOT_FLAG_CLOCK_NOT_SET = 0x10
_CONTINUOUS_FLAG_FAST = 0x01
_CONTINUOUS_FLAG_SLOW = 0x02
_CONTINUOUS_FLAG_MEASUREMENT_STATUS = 0x04
_CONTINUOUS_FLAG_DEVICE_STATUS = 0x08
_CONTINUOUS_FLAG_PULSE_AMPLITUDE = 0x10
_MEASUREMENT_STATUS_BITS = {
    "measurement_ongoing": 5,
    "early_estimated_data": 6,
    "validated_data": 7,
    "fully_qualified_data": 8,
    "from_measurement_storage": 9,
    "for_demonstration": 10,
    "for_testing": 11,
    "calibration_ongoing": 12,
    "measurement_unavailable": 13,
    "questionable_measurement": 14,
    "invalid_measurement": 15,
}
_DEVICE_STATUS_BITS = {
    "extended_display_update_ongoing": 0,
    "equipment_malfunction": 1,
    "signal_processing_irregularity": 2,
    "inadequate_signal": 3,
    "poor_signal": 4,
    "low_perfusion": 5,
    "erratic_signal": 6,
    "nonpulsatile_signal": 7,
    "questionable_pulse": 8,
    "signal_analysis_ongoing": 9,
    "sensor_interference": 10,
    "sensor_unconnected_to_user": 11,
    "unknown_sensor_connected": 12,
    "sensor_displaced": 13,
    "sensor_malfunctioning": 14,
    "sensor_disconnected": 15,
}


@dataclass(frozen=True, slots=True)
class PlxMeasurementStatus:
    """The Measurement Status field (bits 5-15)."""

    measurement_ongoing: bool
    early_estimated_data: bool
    validated_data: bool
    fully_qualified_data: bool
    from_measurement_storage: bool
    for_demonstration: bool
    for_testing: bool
    calibration_ongoing: bool
    measurement_unavailable: bool
    questionable_measurement: bool
    invalid_measurement: bool

    @property
    def excludes_resident_data(self) -> bool:
        """True when the values are not the resident's: demonstration, testing, unavailable, invalid."""
        return (
            self.for_demonstration
            or self.for_testing
            or self.measurement_unavailable
            or self.invalid_measurement
        )


@dataclass(frozen=True, slots=True)
class PlxDeviceSensorStatus:
    """The Device and Sensor Status field (bits 0-15 of 24)."""

    extended_display_update_ongoing: bool
    equipment_malfunction: bool
    signal_processing_irregularity: bool
    inadequate_signal: bool
    poor_signal: bool
    low_perfusion: bool
    erratic_signal: bool
    nonpulsatile_signal: bool
    questionable_pulse: bool
    signal_analysis_ongoing: bool
    sensor_interference: bool
    sensor_unconnected_to_user: bool
    unknown_sensor_connected: bool
    sensor_displaced: bool
    sensor_malfunctioning: bool
    sensor_disconnected: bool


@dataclass(frozen=True, slots=True)
class SpO2PulseRate:
    spo2: MedFloat
    """Percent oxygen saturation."""
    pulse_rate: MedFloat
    """Beats per minute."""


@dataclass(frozen=True, slots=True)
class PlxSpotCheckMeasurement:
    """One spot-check reading (0x2A5E)."""

    spo2: MedFloat
    pulse_rate: MedFloat
    timestamp: DateTime | None = None
    measurement_status: PlxMeasurementStatus | None = None
    device_sensor_status: PlxDeviceSensorStatus | None = None
    pulse_amplitude_index: MedFloat | None = None
    """Percent."""
    device_clock_not_set: bool = False

    @property
    def device_time(self) -> datetime | None:
        """The timestamp as device wall-clock time; None when the device says its clock is not set."""
        if self.timestamp is None or self.device_clock_not_set:
            return None
        return self.timestamp.naive


@dataclass(frozen=True, slots=True)
class PlxContinuousMeasurement:
    """One periodic reading (0x2A5F); ``fast`` and ``slow`` are the same quantities averaged over
    shorter and longer windows than ``normal``. It carries no time: it is measured as it arrives."""

    normal: SpO2PulseRate
    fast: SpO2PulseRate | None = None
    slow: SpO2PulseRate | None = None
    measurement_status: PlxMeasurementStatus | None = None
    device_sensor_status: PlxDeviceSensorStatus | None = None
    pulse_amplitude_index: MedFloat | None = None


def decode_plx_spot_check(data: bytes) -> PlxSpotCheckMeasurement:
    """Raises ``BleDecodeError`` for a value that is short or long."""
    reader = Reader(data)
    flags = reader.uint8("flags")
    spo2 = reader.sfloat("spo2")
    pulse_rate = reader.sfloat("pulse_rate")
    timestamp = read_date_time(reader, "timestamp") if flags & _SPOT_FLAG_TIMESTAMP else None
    measurement_status = _read_measurement_status(reader) if flags & _SPOT_FLAG_MEASUREMENT_STATUS else None
    device_status = _read_device_status(reader) if flags & _SPOT_FLAG_DEVICE_STATUS else None
    pulse_amplitude = reader.sfloat("pulse_amplitude_index") if flags & _SPOT_FLAG_PULSE_AMPLITUDE else None
    reader.end()
    return PlxSpotCheckMeasurement(
        spo2,
        pulse_rate,
        timestamp,
        measurement_status,
        device_status,
        pulse_amplitude,
        bool(flags & _SPOT_FLAG_CLOCK_NOT_SET),
    )


def encode_plx_spot_check(value: PlxSpotCheckMeasurement) -> bytes:
    """Raises ``ValueError`` naming the field that does not fit its wire type."""
    flags = _SPOT_FLAG_CLOCK_NOT_SET if value.device_clock_not_set else 0
    for present, flag in (
        (value.timestamp, _SPOT_FLAG_TIMESTAMP),
        (value.measurement_status, _SPOT_FLAG_MEASUREMENT_STATUS),
        (value.device_sensor_status, _SPOT_FLAG_DEVICE_STATUS),
        (value.pulse_amplitude_index, _SPOT_FLAG_PULSE_AMPLITUDE),
    ):
        if present is not None:
            flags |= flag
    writer = Writer()
    writer.uint8(flags, "flags")
    writer.sfloat(value.spo2, "spo2")
    writer.sfloat(value.pulse_rate, "pulse_rate")
    if value.timestamp is not None:
        write_date_time(writer, value.timestamp, "timestamp")
    _write_status(writer, value.measurement_status, value.device_sensor_status, value.pulse_amplitude_index)
    return bytes(writer)


def plx_spot_check_observations(value: PlxSpotCheckMeasurement) -> list[Observation]:
    """SpO2 (59408-5) and pulse (8867-4); none when the status says the values are not the resident's."""
    if value.measurement_status is not None and value.measurement_status.excludes_resident_data:
        return []
    return [*observe(SPO2, value.spo2, "%"), *observe(PULSE, value.pulse_rate, "/min")]


def decode_plx_continuous(data: bytes) -> PlxContinuousMeasurement:
    """Raises ``BleDecodeError`` for a value that is short or long."""
    reader = Reader(data)
    flags = reader.uint8("flags")
    normal = _read_pair(reader, "normal")
    fast = _read_pair(reader, "fast") if flags & _CONTINUOUS_FLAG_FAST else None
    slow = _read_pair(reader, "slow") if flags & _CONTINUOUS_FLAG_SLOW else None
    measurement_status = (
        _read_measurement_status(reader) if flags & _CONTINUOUS_FLAG_MEASUREMENT_STATUS else None
    )
    device_status = _read_device_status(reader) if flags & _CONTINUOUS_FLAG_DEVICE_STATUS else None
    pulse_amplitude = (
        reader.sfloat("pulse_amplitude_index") if flags & _CONTINUOUS_FLAG_PULSE_AMPLITUDE else None
    )
    reader.end()
    return PlxContinuousMeasurement(normal, fast, slow, measurement_status, device_status, pulse_amplitude)


def encode_plx_continuous(value: PlxContinuousMeasurement) -> bytes:
    """Raises ``ValueError`` naming the field that does not fit its wire type."""
    flags = 0
    for present, flag in (
        (value.fast, _CONTINUOUS_FLAG_FAST),
        (value.slow, _CONTINUOUS_FLAG_SLOW),
        (value.measurement_status, _CONTINUOUS_FLAG_MEASUREMENT_STATUS),
        (value.device_sensor_status, _CONTINUOUS_FLAG_DEVICE_STATUS),
        (value.pulse_amplitude_index, _CONTINUOUS_FLAG_PULSE_AMPLITUDE),
    ):
        if present is not None:
            flags |= flag
    writer = Writer()
    writer.uint8(flags, "flags")
    for pair, name in ((value.normal, "normal"), (value.fast, "fast"), (value.slow, "slow")):
        if pair is not None:
            writer.sfloat(pair.spo2, f"{name}.spo2")
            writer.sfloat(pair.pulse_rate, f"{name}.pulse_rate")
    _write_status(writer, value.measurement_status, value.device_sensor_status, value.pulse_amplitude_index)
    return bytes(writer)


def plx_continuous_observations(value: PlxContinuousMeasurement) -> list[Observation]:
    """SpO2 and pulse from the normal averaging window, with the same exclusions as a spot check."""
    if value.measurement_status is not None and value.measurement_status.excludes_resident_data:
        return []
    return [*observe(SPO2, value.normal.spo2, "%"), *observe(PULSE, value.normal.pulse_rate, "/min")]


def _read_pair(reader: Reader, name: str) -> SpO2PulseRate:
    return SpO2PulseRate(reader.sfloat(f"{name}.spo2"), reader.sfloat(f"{name}.pulse_rate"))


def _read_measurement_status(reader: Reader) -> PlxMeasurementStatus:
    return PlxMeasurementStatus(**unpack_bits(reader.uint16("measurement_status"), _MEASUREMENT_STATUS_BITS))


def _read_device_status(reader: Reader) -> PlxDeviceSensorStatus:
    return PlxDeviceSensorStatus(**unpack_bits(reader.uint24("device_sensor_status"), _DEVICE_STATUS_BITS))


def _write_status(
    writer: Writer,
    measurement_status: PlxMeasurementStatus | None,
    device_status: PlxDeviceSensorStatus | None,
    pulse_amplitude: MedFloat | None,
) -> None:
    if measurement_status is not None:
        writer.uint16(pack_bits(measurement_status, _MEASUREMENT_STATUS_BITS), "measurement_status")
    if device_status is not None:
        writer.uint24(pack_bits(device_status, _DEVICE_STATUS_BITS), "device_sensor_status")
    if pulse_amplitude is not None:
        writer.sfloat(pulse_amplitude, "pulse_amplitude_index")
