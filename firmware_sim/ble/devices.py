"""The simulated health devices, one per profile the driver supports.

Every value is built as the codec's dataclass and sent as ``encode`` makes it, so the bytes are
the ones a real device of that profile sends; each measuring method returns the value it sent
(for the test to compare with what the driver hands the edge). Time stamps come from the
device's clock (``DeviceClock``), wrong if the test made it wrong.

| device | service | characteristics |
| --- | --- | --- |
| ``BloodPressureMonitor`` | 0x1810 | 0x2A35 indicate (stored), 0x2A36 notify |
| ``Thermometer`` | 0x1809 | 0x2A1C indicate (stored), 0x2A1E notify |
| ``PulseOximeter`` | 0x1822 | 0x2A5E indicate (stored), 0x2A5F notify |
| ``GlucoseMeter`` | 0x1808 | 0x2A18 notify, 0x2A34 notify, 0x2A52 write + indicate (RACP) |
| ``WeightScale`` | 0x181D | 0x2A9D indicate (stored), 0x2A9E read |
| ``HeartRateSensor`` | 0x180D | 0x2A37 notify; advertises whenever it is not connected |

All but the heart rate sensor offer the Current Time Service unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bleak.exc import BleakGATTProtocolError, BleakGATTProtocolErrorCode

from drivers.ble.blood_pressure import (
    BloodPressureMeasurement,
    IntermediateCuffPressure,
    PressureUnit,
    encode_blood_pressure,
    encode_intermediate_cuff_pressure,
)
from drivers.ble.datetime_field import DateTime
from drivers.ble.errors import BleDecodeError
from drivers.ble.glucose import (
    ConcentrationUnit,
    GlucoseConcentration,
    GlucoseMeasurement,
    SampleLocation,
    SampleType,
    encode_glucose,
)
from drivers.ble.heart_rate import HeartRateMeasurement, encode_heart_rate
from drivers.ble.ieee11073 import Finite, Special, float_from_decimal, sfloat_from_decimal
from drivers.ble.plx import (
    PlxContinuousMeasurement,
    PlxSpotCheckMeasurement,
    SpO2PulseRate,
    encode_plx_continuous,
    encode_plx_spot_check,
)
from drivers.ble.temperature import (
    IntermediateTemperature,
    TemperatureMeasurement,
    TemperatureUnit,
    encode_intermediate_temperature,
    encode_temperature,
)
from drivers.ble.weight import (
    WeightMeasurement,
    WeightScaleFeature,
    WeightUnits,
    encode_weight,
    encode_weight_scale_feature,
)
from drivers.ble_gatt.racp import (
    RACP_UUID16,
    OpCode,
    Operator,
    RacpRequest,
    RacpResponse,
    RecordCount,
    ResponseCode,
    decode_request,
    encode_response,
)
from firmware_sim.ble.clock import DeviceClock
from firmware_sim.ble.gatt import SimCharacteristic, SimService
from firmware_sim.ble.peripheral import CurrentTimeSupport, Delivery, SimulatedPeripheral

Number = int | float | str | Decimal
BLOOD_PRESSURE = 0x2A35
CUFF_PRESSURE = 0x2A36
TEMPERATURE = 0x2A1C
INTERMEDIATE_TEMPERATURE = 0x2A1E
PLX_SPOT_CHECK = 0x2A5E
PLX_CONTINUOUS = 0x2A5F
GLUCOSE = 0x2A18
GLUCOSE_CONTEXT = 0x2A34
WEIGHT = 0x2A9D
WEIGHT_SCALE_FEATURE = 0x2A9E
HEART_RATE = 0x2A37
MOL_PER_MMOL = Decimal("0.001")
KG_PER_L_PER_MG_PER_DL = Decimal("0.00001")
SELECTING_OPERATORS = (
    Operator.ALL_RECORDS,
    Operator.GREATER_THAN_OR_EQUAL,
    Operator.FIRST_RECORD,
    Operator.LAST_RECORD,
)
_RACP_ERRORS_BY_FIELD = {
    "op_code": ResponseCode.OP_CODE_NOT_SUPPORTED,
    "operator": ResponseCode.INVALID_OPERATOR,
}


def _sfloat(value: Number) -> Finite:
    return sfloat_from_decimal(Decimal(str(value)))


def _float(value: Number) -> Finite:
    return float_from_decimal(Decimal(str(value)))


class _Device(SimulatedPeripheral):
    def __init__(
        self,
        address: str,
        *,
        name: str,
        service_uuid16: int,
        characteristics: Sequence[SimCharacteristic],
        zone: ZoneInfo,
        clock_offset: timedelta,
        current_time: CurrentTimeSupport,
        seed: int,
        disconnect_when_done: bool = True,
        always_advertise: bool = False,
    ) -> None:
        super().__init__(
            address=address,
            name=name,
            service_uuid16=service_uuid16,
            services=[SimService(service_uuid16, tuple(characteristics))],
            clock=DeviceClock(zone, clock_offset),
            current_time=current_time,
            disconnect_when_done=disconnect_when_done,
            always_advertise=always_advertise,
            seed=seed,
        )

    def _stamp(self) -> DateTime:
        return DateTime.of(self.clock.wall())


class BloodPressureMonitor(_Device):
    def __init__(
        self,
        address: str,
        *,
        zone: ZoneInfo,
        name: str = "BP Cuff",
        clock_offset: timedelta = timedelta(0),
        current_time: CurrentTimeSupport = "writable",
        seed: int = 0,
    ) -> None:
        super().__init__(
            address,
            name=name,
            service_uuid16=0x1810,
            characteristics=[
                SimCharacteristic(BLOOD_PRESSURE, ("indicate",)),
                SimCharacteristic(CUFF_PRESSURE, ("notify",)),
            ],
            zone=zone,
            clock_offset=clock_offset,
            current_time=current_time,
            seed=seed,
        )

    def measure(
        self,
        systolic: Number,
        diastolic: Number,
        pulse: Number | None = None,
        *,
        unit: PressureUnit = PressureUnit.MMHG,
        user_id: int | None = None,
        cuff_pressures: Sequence[Number] = (),
    ) -> BloodPressureMeasurement:
        """Inflate (each of ``cuff_pressures`` notified as it passes), then indicate the result."""
        for pressure in cuff_pressures:
            progress = IntermediateCuffPressure(unit, _sfloat(pressure), self._stamp())
            self.send(CUFF_PRESSURE, encode_intermediate_cuff_pressure(progress), Delivery.STREAM)
        value = BloodPressureMeasurement(
            unit,
            _sfloat(systolic),
            _sfloat(diastolic),
            Special.NAN,
            self._stamp(),
            None if pulse is None else _sfloat(pulse),
            user_id,
        )
        self.send(BLOOD_PRESSURE, encode_blood_pressure(value), Delivery.STORED)
        return value


class Thermometer(_Device):
    def __init__(
        self,
        address: str,
        *,
        zone: ZoneInfo,
        name: str = "Thermometer",
        clock_offset: timedelta = timedelta(0),
        current_time: CurrentTimeSupport = "writable",
        seed: int = 0,
    ) -> None:
        super().__init__(
            address,
            name=name,
            service_uuid16=0x1809,
            characteristics=[
                SimCharacteristic(TEMPERATURE, ("indicate",)),
                SimCharacteristic(INTERMEDIATE_TEMPERATURE, ("notify",)),
            ],
            zone=zone,
            clock_offset=clock_offset,
            current_time=current_time,
            seed=seed,
        )

    def measure(
        self,
        temperature: Number,
        *,
        unit: TemperatureUnit = TemperatureUnit.CELSIUS,
        rising: Sequence[Number] = (),
    ) -> TemperatureMeasurement:
        """Notify each of ``rising`` as intermediate temperatures, then indicate the result."""
        for reading in rising:
            progress = IntermediateTemperature(unit, _float(reading), self._stamp())
            self.send(INTERMEDIATE_TEMPERATURE, encode_intermediate_temperature(progress), Delivery.STREAM)
        value = TemperatureMeasurement(unit, _float(temperature), self._stamp())
        self.send(TEMPERATURE, encode_temperature(value), Delivery.STORED)
        return value


class PulseOximeter(_Device):
    def __init__(
        self,
        address: str,
        *,
        zone: ZoneInfo,
        name: str = "Oximeter",
        clock_offset: timedelta = timedelta(0),
        current_time: CurrentTimeSupport = "writable",
        seed: int = 0,
    ) -> None:
        super().__init__(
            address,
            name=name,
            service_uuid16=0x1822,
            characteristics=[
                SimCharacteristic(PLX_SPOT_CHECK, ("indicate",)),
                SimCharacteristic(PLX_CONTINUOUS, ("notify",)),
            ],
            zone=zone,
            clock_offset=clock_offset,
            current_time=current_time,
            seed=seed,
        )

    def spot_check(self, spo2: Number, pulse: Number) -> PlxSpotCheckMeasurement:
        value = PlxSpotCheckMeasurement(_sfloat(spo2), _sfloat(pulse), self._stamp())
        self.send(PLX_SPOT_CHECK, encode_plx_spot_check(value), Delivery.STORED)
        return value

    def continuous(self, spo2: Number, pulse: Number) -> PlxContinuousMeasurement:
        value = PlxContinuousMeasurement(SpO2PulseRate(_sfloat(spo2), _sfloat(pulse)))
        self.send(PLX_CONTINUOUS, encode_plx_continuous(value), Delivery.STREAM)
        return value


class WeightScale(_Device):
    def __init__(
        self,
        address: str,
        *,
        zone: ZoneInfo,
        name: str = "Scale",
        clock_offset: timedelta = timedelta(0),
        current_time: CurrentTimeSupport = "writable",
        seed: int = 0,
    ) -> None:
        feature = WeightScaleFeature(True, True, False, None, None)
        super().__init__(
            address,
            name=name,
            service_uuid16=0x181D,
            characteristics=[
                SimCharacteristic(WEIGHT, ("indicate",)),
                SimCharacteristic(
                    WEIGHT_SCALE_FEATURE, ("read",), read=lambda: encode_weight_scale_feature(feature)
                ),
            ],
            zone=zone,
            clock_offset=clock_offset,
            current_time=current_time,
            seed=seed,
        )

    def measure(
        self, weight: Number, *, units: WeightUnits = WeightUnits.SI, user_id: int | None = None
    ) -> WeightMeasurement:
        """``weight`` in kg (SI) or lb (imperial), a multiple of the wire step (0.005 kg, 0.01 lb)."""
        value = WeightMeasurement(units, Decimal(str(weight)), self._stamp(), user_id)
        self.send(WEIGHT, encode_weight(value), Delivery.STORED)
        return value


class HeartRateSensor(_Device):
    def __init__(self, address: str, *, zone: ZoneInfo, name: str = "HR Strap", seed: int = 0) -> None:
        super().__init__(
            address,
            name=name,
            service_uuid16=0x180D,
            characteristics=[SimCharacteristic(HEART_RATE, ("notify",))],
            zone=zone,
            clock_offset=timedelta(0),
            current_time=None,
            seed=seed,
            disconnect_when_done=False,
            always_advertise=True,
        )

    def measure(self, heart_rate: int) -> HeartRateMeasurement:
        value = HeartRateMeasurement(heart_rate)
        self.send(HEART_RATE, encode_heart_rate(value), Delivery.STREAM)
        return value


class GlucoseMeter(_Device):
    """Keeps every measurement as a numbered record and sends records only when asked (RACP):
    report stored records (all, from a sequence number, first, last), report their number, abort."""

    def __init__(
        self,
        address: str,
        *,
        zone: ZoneInfo,
        name: str = "Glucose Meter",
        clock_offset: timedelta = timedelta(0),
        current_time: CurrentTimeSupport = "writable",
        first_sequence: int = 1,
        operators: Collection[Operator] = SELECTING_OPERATORS,
        seed: int = 0,
    ) -> None:
        """``operators``: the RACP operators the meter supports (others get "operator not supported")."""
        super().__init__(
            address,
            name=name,
            service_uuid16=0x1808,
            characteristics=[
                SimCharacteristic(GLUCOSE, ("notify",)),
                SimCharacteristic(GLUCOSE_CONTEXT, ("notify",)),
                SimCharacteristic(RACP_UUID16, ("write", "indicate"), write=self._racp),
            ],
            zone=zone,
            clock_offset=clock_offset,
            current_time=current_time,
            seed=seed,
            disconnect_when_done=False,
        )
        self.records: list[GlucoseMeasurement] = []
        self._next_sequence = first_sequence
        self._operators = frozenset(operators)

    def measure(
        self,
        mmol_per_l: Number | None = None,
        *,
        mg_per_dl: Number | None = None,
        ago: timedelta = timedelta(0),
        control_solution: bool = False,
    ) -> GlucoseMeasurement:
        """Store one record (in mol/L, or in kg/L when given ``mg_per_dl``), stamped ``ago`` before
        the device clock's now, and advertise so that a gateway comes to fetch it.
        ``control_solution``: a quality-control test of the meter, not a resident's blood."""
        if (mmol_per_l is None) == (mg_per_dl is None):
            raise ValueError("exactly one of mmol_per_l and mg_per_dl")
        if mmol_per_l is not None:
            concentration = _sfloat(Decimal(str(mmol_per_l)) * MOL_PER_MMOL)
            unit = ConcentrationUnit.MOL_PER_L
        else:
            concentration = _sfloat(Decimal(str(mg_per_dl)) * KG_PER_L_PER_MG_PER_DL)
            unit = ConcentrationUnit.KG_PER_L
        record = GlucoseMeasurement(
            self._next_sequence,
            DateTime.of(self.clock.wall() - ago),
            concentration=GlucoseConcentration(
                concentration,
                unit,
                SampleType.CONTROL_SOLUTION if control_solution else SampleType.CAPILLARY_WHOLE_BLOOD,
                SampleLocation.FINGER,
            ),
        )
        self._next_sequence += 1
        self.records.append(record)
        if not self.connected:
            self.power_on()
        return record

    def fill_history(self, count: int, every: timedelta = timedelta(hours=8)) -> list[GlucoseMeasurement]:
        """``count`` records, oldest first, one per ``every`` up to now, values drawn from the seed."""
        return [
            self.measure(round(self._rng.uniform(4.0, 11.0), 1), ago=every * (count - 1 - index))
            for index in range(count)
        ]

    def _racp(self, data: bytes) -> None:
        if not self.subscribed(RACP_UUID16):
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.CCCD_IMPROPERLY_CONFIGURED)
        op_code = data[0] if data else 0
        if self.procedure_running and op_code != OpCode.ABORT_OPERATION:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.PROCEDURE_ALREADY_IN_PROGRESS)
        try:
            request = decode_request(data)
        except BleDecodeError as exc:
            self._respond(
                RacpResponse(op_code, _RACP_ERRORS_BY_FIELD.get(exc.field, ResponseCode.INVALID_OPERAND))
            )
            return
        if request.op_code is OpCode.ABORT_OPERATION:
            self.cancel_procedure()
            self._respond(RacpResponse(request.op_code, ResponseCode.SUCCESS))
            return
        if request.operator not in self._operators:
            self._respond(RacpResponse(request.op_code, ResponseCode.OPERATOR_NOT_SUPPORTED))
            return
        selected = self._select(request)
        if request.op_code is OpCode.REPORT_NUMBER_OF_STORED_RECORDS:
            self._respond(RecordCount(len(selected)))
            return
        for record in selected:
            self.send(GLUCOSE, encode_glucose(record), Delivery.PROCEDURE)
        code = ResponseCode.SUCCESS if selected else ResponseCode.NO_RECORDS_FOUND
        self._respond(RacpResponse(request.op_code, code))

    def _select(self, request: RacpRequest) -> list[GlucoseMeasurement]:
        records = self.records
        match request.operator:
            case Operator.GREATER_THAN_OR_EQUAL:
                floor = request.from_sequence or 0
                return [record for record in records if record.sequence_number >= floor]
            case Operator.FIRST_RECORD:
                return records[:1]
            case Operator.LAST_RECORD:
                return records[-1:]
            case _:
                return list(records)

    def _respond(self, response: RacpResponse | RecordCount) -> None:
        self.procedure_running = True
        self.send(RACP_UUID16, encode_response(response), Delivery.PROCEDURE, ends_procedure=True)
