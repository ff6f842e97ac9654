"""What the simulated analyzers write, checked field by field and against the driver's reading of it."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from drivers.astm.frames import transmission_frames
from drivers.astm.message import parse_message
from drivers.astm.vocabulary import Analytes
from firmware_sim.astm.analyzers import AnalyzerKind, Transmission, TransmissionBuilder, UnitSystem
from firmware_sim.kiosk.messages import CHINA_STANDARD_TIME
from firmware_sim.kiosk.residents import IdStyle, generate_residents

RESIDENTS = generate_residents(8, random.Random("analyzers"), IdStyle.CARE_HOME)
ANALYTES = {
    AnalyzerKind.GLUCOSE_METER: Analytes.BLOOD,
    AnalyzerKind.LIPID: Analytes.BLOOD,
    AnalyzerKind.URINE: Analytes.URINE,
}


def builder(
    kind: AnalyzerKind, units: UnitSystem = UnitSystem.SI, seed: int = 1, **shares: float
) -> TransmissionBuilder:
    return TransmissionBuilder(
        analyzer=kind, rng=random.Random(seed), units=units, utc_offset=CHINA_STANDARD_TIME, **shares
    )


def fields(transmission: Transmission, kind: str) -> list[list[str]]:
    return [record.decode().split("|") for record in transmission.records if record.startswith(kind.encode())]


@pytest.mark.parametrize("units", list(UnitSystem))
@pytest.mark.parametrize("kind", list(AnalyzerKind))
def test_the_driver_stores_exactly_the_results_marked_storable(kind: AnalyzerKind, units: UnitSystem) -> None:
    make = builder(kind, units, abnormal=0.5, out_of_range=0.3, quality_control=0.5)
    for number in range(1, 13):
        transmission = make.build(number, RESIDENTS[: make.residents_per_transmission])

        message = parse_message(
            transmission.records,
            timezone=ZoneInfo("Asia/Shanghai"),
            pseudonymiser=None,
            analytes=ANALYTES[kind],
        )

        stored = sorted(
            (
                reading.measured_at,
                observation.code,
                float(observation.raw.value if observation.raw else observation.value),
            )
            for reading in message.readings
            for observation in reading.observations
        )
        expected = sorted(
            (result.measured_at, result.loinc, float(result.value)) for result in transmission.storable
        )
        assert stored == expected
        assert len(message.skipped) == len(transmission.results) - len(transmission.storable)


def test_records_carry_the_resident_in_p3_and_p6_and_the_order_in_o() -> None:
    transmission = builder(AnalyzerKind.URINE).build(7, RESIDENTS[:1])
    resident = RESIDENTS[0]

    [header] = fields(transmission, "H")
    [patient] = fields(transmission, "P")
    [order] = fields(transmission, "O")
    assert header[1:5] == ["\\^&", "7", "", "URIT-500B^1.2^U5B0123"]
    assert (header[11], header[12]) == ("P", "LIS2-A2")
    assert patient[2] == resident.resident_id
    assert patient[5] == f"{resident.family_name}^{resident.given_name}"
    assert (order[4], order[11], order[15]) == ("^^^UA", "N", "URINE")
    assert [record[2] for record in fields(transmission, "R")] == [
        f"^^^{pad}" for pad in ("GLU", "BIL", "KET", "SG", "BLD", "pH", "PRO", "URO", "NIT", "LEU")
    ]
    assert transmission.records[-1] == b"L|1|N"


def test_a_meter_upload_may_hold_a_control_test_without_a_patient() -> None:
    transmission = builder(AnalyzerKind.GLUCOSE_METER, quality_control=1.0).build(1, RESIDENTS[:2])

    patients = fields(transmission, "P")
    orders = fields(transmission, "O")
    assert len(patients) == 3
    control = [index for index, order in enumerate(orders) if order[11] == "Q"]
    assert len(control) == 1
    assert patients[control[0]] == ["P", str(control[0] + 1)], "no identifier, no name"
    assert [result.resident_id for result in transmission.results].count(None) == 1
    assert all(result.loinc is None for result in transmission.results if result.resident_id is None)


def test_ldl_is_calculated_with_the_friedewald_formula() -> None:
    make = builder(AnalyzerKind.LIPID, UnitSystem.CONVENTIONAL, out_of_range=0.0)
    for number in range(1, 20):
        values = {result.local_code: result.value for result in make.build(number, RESIDENTS[:1]).results}
        if values["LDL"] != "--":
            calculated = int(values["TC"]) - int(values["HDL"]) - int(values["TRG"]) / 5
            assert int(values["LDL"]) == round(calculated)
        else:
            assert int(values["TRG"]) > 400


def test_beyond_the_measuring_range_is_sent_with_a_comparator_and_not_stored() -> None:
    make = builder(AnalyzerKind.GLUCOSE_METER, out_of_range=1.0)
    results = make.build(1, RESIDENTS[:3]).results

    assert {result.value for result in results} <= {"LO", "HI"}
    assert all(result.loinc is None for result in results)


def test_the_lipid_comment_needs_intermediate_frames() -> None:
    transmission = builder(AnalyzerKind.LIPID).build(1, RESIDENTS[:1])

    frames = transmission_frames(transmission.records)

    assert any(not frame.final for frame in frames)


def test_the_clock_never_gives_the_same_second_twice() -> None:
    fixed = datetime(2025, 3, 14, 9, 30, 0, 500_000, tzinfo=CHINA_STANDARD_TIME)
    make = TransmissionBuilder(
        analyzer=AnalyzerKind.GLUCOSE_METER,
        rng=random.Random(1),
        units=UnitSystem.SI,
        utc_offset=CHINA_STANDARD_TIME,
        clock=lambda: fixed,
    )

    times = [result.measured_at for number in (1, 2) for result in make.build(number, RESIDENTS[:3]).results]

    assert times == sorted(times)
    assert len(set(times)) == len(times)
    assert times[0] >= fixed.replace(microsecond=0)
    assert all(later - earlier >= timedelta(seconds=1) for earlier, later in itertools.pairwise(times))


def test_reprs_never_show_residents() -> None:
    transmission = builder(AnalyzerKind.GLUCOSE_METER).build(1, RESIDENTS[:4])

    text = repr(transmission)

    for resident in RESIDENTS[:4]:
        assert resident.resident_id not in text
        assert resident.family_name not in text


def test_shares_must_be_fractions() -> None:
    with pytest.raises(ValueError, match="abnormal"):
        builder(AnalyzerKind.LIPID, abnormal=1.5)
