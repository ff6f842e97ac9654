"""Glucose Measurement (0x2A18) and Glucose Measurement Context (0x2A34).

GATT Specification Supplement, Glucose Measurement and Glucose Measurement Context; Glucose
Service (GLS) v1.0. Layout, little-endian, optional fields in this order when their flag is set.

Glucose Measurement:

- flags (1): bit 0 time offset, 1 concentration with type and sample location, 2 concentration
  unit (0 kg/L, 1 mol/L), 3 sensor status annunciation, 4 context information follows;
- sequence number (uint16) and base time (Date Time, 7), always;
- time offset (sint16, minutes after the base time);
- concentration (SFLOAT, kg/L or mol/L) and one octet: type in the low nibble (1 capillary whole
  blood, 2 capillary plasma, 3 venous whole blood, 4 venous plasma, 5 arterial whole blood,
  6 arterial plasma, 7 undetermined whole blood, 8 undetermined plasma, 9 interstitial fluid,
  10 control solution), sample location in the high nibble (1 finger, 2 alternate site test,
  3 earlobe, 4 control solution, 15 not available);
- sensor status annunciation (2): bit 0 battery low, 1 sensor malfunction, 2 sample size
  insufficient, 3 strip insertion error, 4 strip type incorrect, 5 result higher than the device
  can process, 6 result lower than the device can process, 7 sensor temperature too high, 8 too
  low, 9 read interrupted (strip pulled too soon), 10 general device fault, 11 time fault.

Glucose Measurement Context:

- flags (1): bit 0 carbohydrate, 1 meal, 2 tester-health, 3 exercise, 4 medication, 5 medication
  unit (0 kilograms, 1 litres), 6 HbA1c, 7 extended flags;
- sequence number (uint16, that of the measurement it belongs to), always;
- extended flags (1, all bits reserved);
- carbohydrate ID (1: 1 breakfast, 2 lunch, 3 dinner, 4 snack, 5 drink, 6 supper, 7 brunch) and
  carbohydrate (SFLOAT, kilograms);
- meal (1): 1 preprandial, 2 postprandial, 3 fasting, 4 casual, 5 bedtime;
- tester (low nibble: 1 self, 2 health care professional, 3 lab test, 15 not available) and
  health (high nibble: 1 minor issues, 2 major issues, 3 during menses, 4 under stress, 5 no
  issues, 15 not available);
- exercise duration (uint16, seconds; 65535 overrun) and intensity (uint8, %);
- medication ID (1: 1 rapid acting insulin, 2 short acting, 3 intermediate acting, 4 long acting,
  5 pre-mixed) and medication (SFLOAT, kilograms or litres);
- HbA1c (SFLOAT, %).

Enumeration values not listed are reserved and refused; reserved flag and status bits are
ignored. A unit flag without the value it qualifies is ignored too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from careedge_common.codes import GLUCOSE
from careedge_common.envelope import Observation
from drivers.ble.datetime_field import DateTime, read_date_time, write_date_time
from drivers.ble.ieee11073 import Finite, MedFloat
from drivers.ble.observations import canonical, number
from drivers.ble.wire import Reader, Writer, pack_bits, unpack_bits

_FLAG_TIME_OFFSET = 0x01
_FLAG_CONCENTRATION = 0x02
_FLAG_MOL_PER_L = 0x04
_FLAG_SENSOR_STATUS = 0x08
_FLAG_CONTEXT_FOLLOWS = 0x10
_CONTEXT_FLAG_CARBOHYDRATE = 0x01
_CONTEXT_FLAG_MEAL = 0x02
_CONTEXT_FLAG_TESTER_HEALTH = 0x04
_CONTEXT_FLAG_EXERCISE = 0x08
_CONTEXT_FLAG_MEDICATION = 0x10
_CONTEXT_FLAG_MEDICATION_LITRES = 0x20
_CONTEXT_FLAG_HBA1C = 0x40
_CONTEXT_FLAG_EXTENDED = 0x80
_NIBBLE = 4
_LOW_NIBBLE = 0x0F
EXERCISE_DURATION_OVERRUN = 0xFFFF
"""Exercise duration value meaning "longer than 65534 s"."""
MG_PER_DL_PER_KG_PER_L = Decimal(100_000)
"""1 kg/L is 10^6 mg per 10 dL."""
MMOL_PER_L_PER_MOL_PER_L = Decimal(1000)
_SENSOR_STATUS_BITS = {
    "battery_low": 0,
    "sensor_malfunction": 1,
    "sample_size_insufficient": 2,
    "strip_insertion_error": 3,
    "strip_type_incorrect": 4,
    "result_too_high": 5,
    "result_too_low": 6,
    "temperature_too_high": 7,
    "temperature_too_low": 8,
    "read_interrupted": 9,
    "general_device_fault": 10,
    "time_fault": 11,
}


class ConcentrationUnit(StrEnum):
    KG_PER_L = "kg/L"
    MOL_PER_L = "mol/L"


class SampleType(StrEnum):
    CAPILLARY_WHOLE_BLOOD = "capillary_whole_blood"
    CAPILLARY_PLASMA = "capillary_plasma"
    VENOUS_WHOLE_BLOOD = "venous_whole_blood"
    VENOUS_PLASMA = "venous_plasma"
    ARTERIAL_WHOLE_BLOOD = "arterial_whole_blood"
    ARTERIAL_PLASMA = "arterial_plasma"
    UNDETERMINED_WHOLE_BLOOD = "undetermined_whole_blood"
    UNDETERMINED_PLASMA = "undetermined_plasma"
    INTERSTITIAL_FLUID = "interstitial_fluid"
    CONTROL_SOLUTION = "control_solution"


class SampleLocation(StrEnum):
    FINGER = "finger"
    ALTERNATE_SITE_TEST = "alternate_site_test"
    EARLOBE = "earlobe"
    CONTROL_SOLUTION = "control_solution"
    NOT_AVAILABLE = "not_available"


class CarbohydrateId(StrEnum):
    BREAKFAST = "breakfast"
    LUNCH = "lunch"
    DINNER = "dinner"
    SNACK = "snack"
    DRINK = "drink"
    SUPPER = "supper"
    BRUNCH = "brunch"


class Meal(StrEnum):
    PREPRANDIAL = "preprandial"
    POSTPRANDIAL = "postprandial"
    FASTING = "fasting"
    CASUAL = "casual"
    BEDTIME = "bedtime"


class Tester(StrEnum):
    SELF = "self"
    HEALTH_CARE_PROFESSIONAL = "health_care_professional"
    LAB_TEST = "lab_test"
    NOT_AVAILABLE = "not_available"


class Health(StrEnum):
    MINOR_ISSUES = "minor_issues"
    MAJOR_ISSUES = "major_issues"
    DURING_MENSES = "during_menses"
    UNDER_STRESS = "under_stress"
    NO_ISSUES = "no_issues"
    NOT_AVAILABLE = "not_available"


class MedicationId(StrEnum):
    RAPID_ACTING_INSULIN = "rapid_acting_insulin"
    SHORT_ACTING_INSULIN = "short_acting_insulin"
    INTERMEDIATE_ACTING_INSULIN = "intermediate_acting_insulin"
    LONG_ACTING_INSULIN = "long_acting_insulin"
    PRE_MIXED_INSULIN = "pre_mixed_insulin"


class MedicationUnit(StrEnum):
    KILOGRAMS = "kg"
    LITRES = "L"


NOT_AVAILABLE_CODE = 15
"""Sample location, tester or health "value not available"."""
_SAMPLE_TYPES = dict(enumerate(SampleType, start=1))
_SAMPLE_LOCATIONS = {
    1: SampleLocation.FINGER,
    2: SampleLocation.ALTERNATE_SITE_TEST,
    3: SampleLocation.EARLOBE,
    4: SampleLocation.CONTROL_SOLUTION,
    NOT_AVAILABLE_CODE: SampleLocation.NOT_AVAILABLE,
}
_CARBOHYDRATES = dict(enumerate(CarbohydrateId, start=1))
_MEALS = dict(enumerate(Meal, start=1))
_TESTERS = {
    1: Tester.SELF,
    2: Tester.HEALTH_CARE_PROFESSIONAL,
    3: Tester.LAB_TEST,
    NOT_AVAILABLE_CODE: Tester.NOT_AVAILABLE,
}
_HEALTH = {
    1: Health.MINOR_ISSUES,
    2: Health.MAJOR_ISSUES,
    3: Health.DURING_MENSES,
    4: Health.UNDER_STRESS,
    5: Health.NO_ISSUES,
    NOT_AVAILABLE_CODE: Health.NOT_AVAILABLE,
}
_MEDICATIONS = dict(enumerate(MedicationId, start=1))

M = TypeVar("M", bound=StrEnum)


def _inverse(members: Mapping[int, M]) -> dict[M, int]:
    return {member: code for code, member in members.items()}


_SAMPLE_TYPE_CODES = _inverse(_SAMPLE_TYPES)
_SAMPLE_LOCATION_CODES = _inverse(_SAMPLE_LOCATIONS)
_CARBOHYDRATE_CODES = _inverse(_CARBOHYDRATES)
_MEAL_CODES = _inverse(_MEALS)
_TESTER_CODES = _inverse(_TESTERS)
_HEALTH_CODES = _inverse(_HEALTH)
_MEDICATION_CODES = _inverse(_MEDICATIONS)


@dataclass(frozen=True, slots=True)
class GlucoseConcentration:
    value: MedFloat
    """In ``unit``: kg/L (95 mg/dL is 0.00095 kg/L) or mol/L (5.3 mmol/L is 0.0053 mol/L)."""
    unit: ConcentrationUnit
    sample_type: SampleType
    sample_location: SampleLocation

    @property
    def is_control_solution(self) -> bool:
        """A quality-control test of the meter, not a resident's blood."""
        return (
            self.sample_type is SampleType.CONTROL_SOLUTION
            or self.sample_location is SampleLocation.CONTROL_SOLUTION
        )


@dataclass(frozen=True, slots=True)
class GlucoseSensorStatus:
    """The Sensor Status Annunciation field. Bit 5 is "higher", bit 6 "lower": some libraries swap them."""

    battery_low: bool
    sensor_malfunction: bool
    sample_size_insufficient: bool
    strip_insertion_error: bool
    strip_type_incorrect: bool
    result_too_high: bool
    """Higher than the device can process: the value sent is not the resident's glucose."""
    result_too_low: bool
    """Lower than the device can process: the value sent is not the resident's glucose."""
    temperature_too_high: bool
    temperature_too_low: bool
    read_interrupted: bool
    general_device_fault: bool
    time_fault: bool
    """The meter's clock failed: its time may be wrong."""


@dataclass(frozen=True, slots=True)
class GlucoseMeasurement:
    """One glucose record (0x2A18), live or from the meter's memory (told apart by sequence number)."""

    sequence_number: int
    base_time: DateTime
    time_offset_minutes: int | None = None
    concentration: GlucoseConcentration | None = None
    sensor_status: GlucoseSensorStatus | None = None
    context_follows: bool = False
    """A Glucose Measurement Context with the same sequence number follows."""

    @property
    def device_time(self) -> datetime | None:
        """Base time plus time offset, as device wall-clock time (no zone; the driver applies the
        site's); None when the base time's date is unknown."""
        base = self.base_time.naive
        if base is None:
            return None
        return base + timedelta(minutes=self.time_offset_minutes or 0)


@dataclass(frozen=True, slots=True)
class Carbohydrate:
    carbohydrate_id: CarbohydrateId
    amount: MedFloat
    """Kilograms."""


@dataclass(frozen=True, slots=True)
class TesterHealth:
    """Who tested and how the resident felt: two nibbles of one octet, so always both."""

    tester: Tester
    health: Health


@dataclass(frozen=True, slots=True)
class Exercise:
    duration_s: int
    """Seconds; ``EXERCISE_DURATION_OVERRUN`` (65535) when longer than the field holds."""
    intensity_percent: int


@dataclass(frozen=True, slots=True)
class Medication:
    medication_id: MedicationId
    amount: MedFloat
    """In ``unit``."""
    unit: MedicationUnit


@dataclass(frozen=True, slots=True)
class GlucoseMeasurementContext:
    """What was entered about the measurement with the same sequence number (0x2A34)."""

    sequence_number: int
    extended_flags_present: bool = False
    """The Extended Flags octet was sent; all its bits are reserved, so its value is ignored."""
    carbohydrate: Carbohydrate | None = None
    meal: Meal | None = None
    tester_health: TesterHealth | None = None
    exercise: Exercise | None = None
    medication: Medication | None = None
    hba1c_percent: MedFloat | None = None


def decode_glucose(data: bytes) -> GlucoseMeasurement:
    """Raises ``BleDecodeError`` for a value that is short, long or holds a reserved type or location."""
    reader = Reader(data)
    flags = reader.uint8("flags")
    sequence_number = reader.uint16("sequence_number")
    base_time = read_date_time(reader, "base_time")
    time_offset = reader.sint16("time_offset_minutes") if flags & _FLAG_TIME_OFFSET else None
    concentration = _read_concentration(reader, flags) if flags & _FLAG_CONCENTRATION else None
    sensor_status = None
    if flags & _FLAG_SENSOR_STATUS:
        sensor_status = GlucoseSensorStatus(
            **unpack_bits(reader.uint16("sensor_status"), _SENSOR_STATUS_BITS)
        )
    reader.end()
    context_follows = bool(flags & _FLAG_CONTEXT_FOLLOWS)
    return GlucoseMeasurement(
        sequence_number, base_time, time_offset, concentration, sensor_status, context_follows
    )


def encode_glucose(value: GlucoseMeasurement) -> bytes:
    """Raises ``ValueError`` naming the field that does not fit its wire type."""
    concentration = value.concentration
    flags = _FLAG_CONTEXT_FOLLOWS if value.context_follows else 0
    if value.time_offset_minutes is not None:
        flags |= _FLAG_TIME_OFFSET
    if concentration is not None:
        flags |= _FLAG_CONCENTRATION
        if concentration.unit is ConcentrationUnit.MOL_PER_L:
            flags |= _FLAG_MOL_PER_L
    if value.sensor_status is not None:
        flags |= _FLAG_SENSOR_STATUS
    writer = Writer()
    writer.uint8(flags, "flags")
    writer.uint16(value.sequence_number, "sequence_number")
    write_date_time(writer, value.base_time, "base_time")
    if value.time_offset_minutes is not None:
        writer.sint16(value.time_offset_minutes, "time_offset_minutes")
    if concentration is not None:
        writer.sfloat(concentration.value, "concentration.value")
        type_code = _SAMPLE_TYPE_CODES[concentration.sample_type]
        location_code = _SAMPLE_LOCATION_CODES[concentration.sample_location]
        writer.uint8(location_code << _NIBBLE | type_code, "concentration.sample_type")
    if value.sensor_status is not None:
        writer.uint16(pack_bits(value.sensor_status, _SENSOR_STATUS_BITS), "sensor_status")
    return bytes(writer)


def glucose_observations(value: GlucoseMeasurement) -> list[Observation]:
    """Blood glucose (2339-0) in mmol/L.

    kg/L is scaled exactly to mg/dL (x 100,000; kept as ``raw``) and converted by molar mass; mol/L
    is scaled exactly to mmol/L (x 1,000). None for a special value, a control-solution test, or a
    result the meter flags as higher or lower than it can process (the number sent is a limit, not
    the resident's glucose).
    """
    concentration = value.concentration
    if concentration is None or not isinstance(concentration.value, Finite):
        return []
    if concentration.is_control_solution:
        return []
    status = value.sensor_status
    if status is not None and (status.result_too_high or status.result_too_low):
        return []
    if concentration.unit is ConcentrationUnit.KG_PER_L:
        return [canonical(GLUCOSE, number(concentration.value.decimal * MG_PER_DL_PER_KG_PER_L), "mg/dL")]
    return [canonical(GLUCOSE, number(concentration.value.decimal * MMOL_PER_L_PER_MOL_PER_L), "mmol/L")]


def decode_glucose_context(data: bytes) -> GlucoseMeasurementContext:
    """Raises ``BleDecodeError`` for a value that is short, long or holds a reserved enumeration value."""
    reader = Reader(data)
    flags = reader.uint8("flags")
    sequence_number = reader.uint16("sequence_number")
    extended = bool(flags & _CONTEXT_FLAG_EXTENDED)
    if extended:
        reader.uint8("extended_flags")
    carbohydrate = None
    if flags & _CONTEXT_FLAG_CARBOHYDRATE:
        offset = reader.offset
        code = reader.uint8("carbohydrate.carbohydrate_id")
        carbohydrate_id = reader.enum(_CARBOHYDRATES, code, offset, "carbohydrate.carbohydrate_id", "1..7")
        carbohydrate = Carbohydrate(carbohydrate_id, reader.sfloat("carbohydrate.amount"))
    meal = None
    if flags & _CONTEXT_FLAG_MEAL:
        offset = reader.offset
        meal = reader.enum(_MEALS, reader.uint8("meal"), offset, "meal", "1..5")
    tester_health = None
    if flags & _CONTEXT_FLAG_TESTER_HEALTH:
        offset = reader.offset
        nibbles = reader.uint8("tester_health")
        tester = reader.enum(
            _TESTERS,
            nibbles & _LOW_NIBBLE,
            offset,
            "tester_health.tester",
            "1..3 or 15 (not available) in the low nibble",
        )
        health = reader.enum(
            _HEALTH,
            nibbles >> _NIBBLE,
            offset,
            "tester_health.health",
            "1..5 or 15 (not available) in the high nibble",
        )
        tester_health = TesterHealth(tester, health)
    exercise = None
    if flags & _CONTEXT_FLAG_EXERCISE:
        exercise = Exercise(reader.uint16("exercise.duration_s"), reader.uint8("exercise.intensity_percent"))
    medication = None
    if flags & _CONTEXT_FLAG_MEDICATION:
        offset = reader.offset
        code = reader.uint8("medication.medication_id")
        medication_id = reader.enum(_MEDICATIONS, code, offset, "medication.medication_id", "1..5")
        amount = reader.sfloat("medication.amount")
        unit = MedicationUnit.LITRES if flags & _CONTEXT_FLAG_MEDICATION_LITRES else MedicationUnit.KILOGRAMS
        medication = Medication(medication_id, amount, unit)
    hba1c = reader.sfloat("hba1c_percent") if flags & _CONTEXT_FLAG_HBA1C else None
    reader.end()
    return GlucoseMeasurementContext(
        sequence_number, extended, carbohydrate, meal, tester_health, exercise, medication, hba1c
    )


def encode_glucose_context(value: GlucoseMeasurementContext) -> bytes:
    """Raises ``ValueError`` naming the field that does not fit its wire type."""
    flags = _CONTEXT_FLAG_EXTENDED if value.extended_flags_present else 0
    for present, flag in (
        (value.carbohydrate, _CONTEXT_FLAG_CARBOHYDRATE),
        (value.meal, _CONTEXT_FLAG_MEAL),
        (value.tester_health, _CONTEXT_FLAG_TESTER_HEALTH),
        (value.exercise, _CONTEXT_FLAG_EXERCISE),
        (value.medication, _CONTEXT_FLAG_MEDICATION),
        (value.hba1c_percent, _CONTEXT_FLAG_HBA1C),
    ):
        if present is not None:
            flags |= flag
    if value.medication is not None and value.medication.unit is MedicationUnit.LITRES:
        flags |= _CONTEXT_FLAG_MEDICATION_LITRES
    writer = Writer()
    writer.uint8(flags, "flags")
    writer.uint16(value.sequence_number, "sequence_number")
    if value.extended_flags_present:
        writer.uint8(0, "extended_flags")
    if value.carbohydrate is not None:
        writer.uint8(_CARBOHYDRATE_CODES[value.carbohydrate.carbohydrate_id], "carbohydrate.carbohydrate_id")
        writer.sfloat(value.carbohydrate.amount, "carbohydrate.amount")
    if value.meal is not None:
        writer.uint8(_MEAL_CODES[value.meal], "meal")
    if value.tester_health is not None:
        tester, health = _TESTER_CODES[value.tester_health.tester], _HEALTH_CODES[value.tester_health.health]
        writer.uint8(health << _NIBBLE | tester, "tester_health")
    if value.exercise is not None:
        writer.uint16(value.exercise.duration_s, "exercise.duration_s")
        writer.uint8(value.exercise.intensity_percent, "exercise.intensity_percent")
    if value.medication is not None:
        writer.uint8(_MEDICATION_CODES[value.medication.medication_id], "medication.medication_id")
        writer.sfloat(value.medication.amount, "medication.amount")
    if value.hba1c_percent is not None:
        writer.sfloat(value.hba1c_percent, "hba1c_percent")
    return bytes(writer)


def glucose_context_observations(value: GlucoseMeasurementContext) -> list[Observation]:
    """None: the context qualifies a glucose reading; the product stores no observation kind for it."""
    return []


def _read_concentration(reader: Reader, flags: int) -> GlucoseConcentration:
    value = reader.sfloat("concentration.value")
    unit = ConcentrationUnit.MOL_PER_L if flags & _FLAG_MOL_PER_L else ConcentrationUnit.KG_PER_L
    offset = reader.offset
    nibbles = reader.uint8("concentration.sample_type")
    sample_type = reader.enum(
        _SAMPLE_TYPES, nibbles & _LOW_NIBBLE, offset, "concentration.sample_type", "1..10 in the low nibble"
    )
    location = reader.enum(
        _SAMPLE_LOCATIONS,
        nibbles >> _NIBBLE,
        offset,
        "concentration.sample_location",
        "1..4 or 15 (not available) in the high nibble",
    )
    return GlucoseConcentration(value, unit, sample_type, location)
