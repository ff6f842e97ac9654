"""ORU^R01 content: structure a real HL7 parser accepts, values and units matching the record."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import hl7
import pytest

from careedge_common.codes import BY_CODE, DIASTOLIC, SYSTOLIC
from firmware_sim.kiosk.messages import BuiltMessage, ControlIds, MessageBuilder
from firmware_sim.kiosk.residents import Resident, generate_residents
from firmware_sim.kiosk.units import ALTERNATIVE_UNITS, UnitsMode
from firmware_sim.kiosk.vitals import MeasurementKind

KIOSK_TIME = datetime(2025, 3, 14, 9, 30, 12, tzinfo=timezone(timedelta(hours=8)))
RESIDENT = Resident("110105194503071234", "张", "秀英", None, "F")


def builder(
    seed: int = 7,
    units: UnitsMode = UnitsMode.METRIC,
    abnormal: float = 0.0,
    kinds: Sequence[MeasurementKind] = tuple(MeasurementKind),
) -> MessageBuilder:
    return MessageBuilder(
        rng=random.Random(seed),
        facility="SUNRISE_CARE",
        device_id="KIOSK-07",
        units=units,
        abnormal=abnormal,
        kinds=kinds,
        clock=lambda: KIOSK_TIME,
    )


def build_many(
    count: int,
    units: UnitsMode = UnitsMode.METRIC,
    abnormal: float = 0.0,
    kinds: Sequence[MeasurementKind] = tuple(MeasurementKind),
) -> list[BuiltMessage]:
    kiosk = builder(units=units, abnormal=abnormal, kinds=kinds)
    residents = generate_residents(5, random.Random(1))
    return [kiosk.build(residents[index % 5], f"CTRL{index:06d}") for index in range(count)]


def test_message_is_an_oru_r01_that_hl7_parses_with_the_recorded_header_and_patient() -> None:
    built = builder().build(RESIDENT, "CTRL000001")
    assert built.payload.endswith(b"\r")
    assert b"\n" not in built.payload
    message = hl7.parse(built.payload.decode("utf-8"))
    msh = message.segment("MSH")
    assert str(msh(9)) == "ORU^R01^ORU_R01"
    assert str(msh(10)) == built.record.control_id == "CTRL000001"
    assert str(msh(12)) == "2.5"
    assert str(msh(18)) == "UNICODE UTF-8"
    assert str(msh(7)) == "20250314093012+0800"
    assert str(msh(4)) == "SUNRISE_CARE"
    assert message["PID.F3.R1.C1"] == "110105194503071234"
    assert message["PID.F3.R1.C4"] == "SUNRISE_CARE"
    assert message["PID.F3.R1.C5"] == "MR"
    assert message["PID.F5.R1.C1"] == "张"
    assert message["PID.F5.R1.C2"] == "秀英"
    assert built.record.resident_id == RESIDENT.resident_id


def test_each_obx_carries_exactly_the_recorded_code_value_unit_and_time() -> None:
    for built in build_many(40, units=UnitsMode.MIXED):
        message = hl7.parse(built.payload.decode("utf-8"))
        obx_segments = message.segments("OBX")
        assert len(obx_segments) == len(built.record.observations)
        for obx, observation in zip(obx_segments, built.record.observations, strict=True):
            assert str(obx(2)) == "NM"
            assert str(obx(3)) == f"{observation.code}^{observation.name}^LN"
            assert float(str(obx(5))) == observation.value
            assert str(obx(6)(1)(1)) == observation.unit
            assert str(obx(6)(1)(3)) == "UCUM"
            assert str(obx(8)) == observation.interpretation
            assert str(obx(11)) == "F"
            assert str(obx(18)) == "KIOSK-07"
            assert hl7.parse_datetime(str(obx(14))) == observation.observed_at
        first_obr_time = hl7.parse_datetime(str(message.segments("OBR")(1)(7)))
        assert first_obr_time == built.record.measured_at
        assert built.record.measured_at.utcoffset() == timedelta(hours=8)


def test_stations_of_a_session_have_increasing_times_before_sending() -> None:
    for built in build_many(30):
        obr_times = [
            hl7.parse_datetime(str(obr(7))) for obr in hl7.parse(built.payload.decode()).segments("OBR")
        ]
        assert obr_times == sorted(obr_times)
        assert len(set(obr_times)) == len(obr_times) == len(built.record.kinds)
        assert obr_times[-1] < KIOSK_TIME


def test_same_seed_same_messages_and_other_seed_other_values() -> None:
    first = builder(seed=3).build(RESIDENT, "X1")
    again = builder(seed=3).build(RESIDENT, "X1")
    assert first.payload == again.payload
    others = {builder(seed=seed).build(RESIDENT, "X1").payload for seed in range(10, 20)}
    assert len(others) > 1


def test_metric_mode_sends_only_canonical_units() -> None:
    for built in build_many(60, units=UnitsMode.METRIC):
        for observation in built.record.observations:
            assert observation.unit == BY_CODE[observation.code].unit == observation.canonical_unit
            assert observation.value == observation.canonical_value


def test_mixed_mode_sends_market_units_that_convert_back_to_the_measured_value() -> None:
    seen_units: set[str] = set()
    for built in build_many(120, units=UnitsMode.MIXED):
        for observation in built.record.observations:
            seen_units.add(observation.unit)
            if observation.unit == observation.canonical_unit:
                assert observation.value == observation.canonical_value
                continue
            display = ALTERNATIVE_UNITS[observation.canonical_unit]
            assert observation.unit == display.unit
            decimals = BY_CODE[observation.code].decimals
            assert round(display.to_canonical(observation.value), decimals) == observation.canonical_value
    assert {"kPa", "[degF]", "[lb_av]", "mg/dL", "mm[Hg]", "Cel", "kg", "mmol/L"} <= seen_units


def test_known_conversions_of_the_market_units() -> None:
    assert ALTERNATIVE_UNITS["mm[Hg]"].from_canonical(120) == 16.0
    assert ALTERNATIVE_UNITS["Cel"].from_canonical(37.0) == 98.6
    assert ALTERNATIVE_UNITS["kg"].from_canonical(50.0) == 110.2
    assert ALTERNATIVE_UNITS["mmol/L"].from_canonical(5.5) == 99


def test_blood_pressure_in_one_group_shares_one_unit() -> None:
    for built in build_many(80, units=UnitsMode.MIXED, kinds=[MeasurementKind.BLOOD_PRESSURE]):
        units = {obs.unit for obs in built.record.observations if obs.code in (SYSTOLIC.code, DIASTOLIC.code)}
        assert len(units) == 1


def test_without_abnormal_share_no_reading_is_critical() -> None:
    flags = {
        obs.interpretation for built in build_many(200, abnormal=0.0) for obs in built.record.observations
    }
    assert not flags & {"HH", "LL"}


def test_all_abnormal_flags_every_blood_pressure_group_and_includes_hypertensive_crisis() -> None:
    messages = build_many(150, abnormal=1.0, kinds=[MeasurementKind.BLOOD_PRESSURE])
    crises = 0
    for built in messages:
        values = {obs.code: obs.canonical_value for obs in built.record.observations}
        assert any(obs.interpretation != "N" for obs in built.record.observations)
        if values[SYSTOLIC.code] >= 180 and values[DIASTOLIC.code] >= 120:
            crises += 1
    assert crises > 0


def test_weight_is_stable_for_one_resident() -> None:
    kiosk = builder(kinds=[MeasurementKind.WEIGHT])
    weights = [
        kiosk.build(RESIDENT, f"W{index}").record.observations[0].canonical_value for index in range(20)
    ]
    assert max(weights) - min(weights) < 3.0


def test_control_ids_are_unique_and_fit_hl7_v25_length() -> None:
    ids = ControlIds(KIOSK_TIME)
    issued = [ids.next() for _ in range(5000)]
    assert len(set(issued)) == len(issued)
    assert all(len(control_id) == 20 for control_id in issued)


@pytest.mark.parametrize(("facility", "device_id"), [("A|B", "K"), ("A", "K^1"), ("", "K")])
def test_delimiters_in_header_values_are_refused(facility: str, device_id: str) -> None:
    with pytest.raises(ValueError, match="HL7 delimiters"):
        MessageBuilder(rng=random.Random(0), facility=facility, device_id=device_id)


def test_naive_clock_is_refused() -> None:
    kiosk = MessageBuilder(
        rng=random.Random(0), facility="F", device_id="K", clock=lambda: datetime(2025, 1, 1)
    )
    with pytest.raises(ValueError, match="aware"):
        kiosk.build(RESIDENT, "C1")
