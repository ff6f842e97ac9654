"""NEWS2 against the RCP 2017 chart, row by row: every boundary value and its neighbour on the
other side, both SpO2 scales, the aggregate bands, and partial scores."""

from __future__ import annotations

import pytest

from cloud_bridge import news2
from cloud_bridge.news2 import News2Input, score, spo2_points

ALL_NORMAL = {
    "respiration_rate": 16.0,
    "spo2": 97.0,
    "on_oxygen": False,
    "systolic_bp": 120.0,
    "pulse": 70.0,
    "alert": True,
    "temperature": 37.0,
}


def _points(parameter: news2.Parameter, **values: object) -> int:
    result = score(News2Input(**{**ALL_NORMAL, **values}))  # type: ignore[arg-type]
    assert not result.partial
    return result.points[parameter]


@pytest.mark.parametrize(
    ("rate", "points"),
    [(5, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (40, 3)],
)
def test_respiration_rate(rate: float, points: int) -> None:
    assert _points("respiration_rate", respiration_rate=rate) == points


@pytest.mark.parametrize(
    ("spo2", "points"),
    [(85, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)],
)
@pytest.mark.parametrize("on_oxygen", [False, True])
def test_spo2_scale_1_ignores_air_or_oxygen(spo2: float, points: int, on_oxygen: bool) -> None:
    assert _points("spo2", spo2=spo2, on_oxygen=on_oxygen) == points


@pytest.mark.parametrize(
    ("spo2", "on_oxygen", "points"),
    [
        (80, False, 3),
        (83, False, 3),
        (84, False, 2),
        (85, False, 2),
        (86, False, 1),
        (87, False, 1),
        (88, False, 0),
        (92, False, 0),
        (93, False, 0),
        (100, False, 0),
        (83, True, 3),
        (84, True, 2),
        (87, True, 1),
        (88, True, 0),
        (92, True, 0),
        (93, True, 1),
        (94, True, 1),
        (95, True, 2),
        (96, True, 2),
        (97, True, 3),
        (100, True, 3),
    ],
)
def test_spo2_scale_2(spo2: float, on_oxygen: bool, points: int) -> None:
    assert _points("spo2", spo2=spo2, on_oxygen=on_oxygen, spo2_scale=2) == points


def test_scale_2_above_92_without_air_or_oxygen_cannot_be_scored() -> None:
    assert spo2_points(93, 2, None) is None
    assert spo2_points(92, 2, None) == 0
    result = score(News2Input(spo2=95, spo2_scale=2))
    assert "spo2" in result.missing
    assert "air_or_oxygen" in result.missing


@pytest.mark.parametrize(("on_oxygen", "points"), [(False, 0), (True, 2)])
def test_air_or_oxygen(on_oxygen: bool, points: int) -> None:
    assert _points("air_or_oxygen", on_oxygen=on_oxygen) == points


@pytest.mark.parametrize(
    ("systolic", "points"),
    [(70, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3), (250, 3)],
)
def test_systolic_bp(systolic: float, points: int) -> None:
    assert _points("systolic_bp", systolic_bp=systolic) == points


@pytest.mark.parametrize(
    ("pulse", "points"),
    [
        (30, 3),
        (40, 3),
        (41, 1),
        (50, 1),
        (51, 0),
        (90, 0),
        (91, 1),
        (110, 1),
        (111, 2),
        (130, 2),
        (131, 3),
        (180, 3),
    ],
)
def test_pulse(pulse: float, points: int) -> None:
    assert _points("pulse", pulse=pulse) == points


@pytest.mark.parametrize(("alert", "points"), [(True, 0), (False, 3)])
def test_consciousness(alert: bool, points: int) -> None:
    assert _points("consciousness", alert=alert) == points


@pytest.mark.parametrize(
    ("temperature", "points"),
    [
        (34.0, 3),
        (35.0, 3),
        (35.1, 1),
        (36.0, 1),
        (36.1, 0),
        (38.0, 0),
        (38.1, 1),
        (39.0, 1),
        (39.1, 2),
        (41.0, 2),
    ],
)
def test_temperature(temperature: float, points: int) -> None:
    assert _points("temperature", temperature=temperature) == points


def test_values_between_printed_rows_fall_into_the_higher_row() -> None:
    assert _points("pulse", pulse=90.5) == 1
    assert _points("temperature", temperature=38.05) == 1


@pytest.mark.parametrize(
    ("values", "total", "band", "colour"),
    [
        ({}, 0, "zero", "green"),
        ({"pulse": 95}, 1, "low", "green"),
        ({"pulse": 95, "respiration_rate": 22, "temperature": 38.5}, 4, "low", "green"),
        ({"alert": False}, 3, "low_medium", "yellow"),
        ({"pulse": 115, "respiration_rate": 22, "temperature": 38.5}, 5, "medium", "yellow"),
        ({"pulse": 115, "respiration_rate": 22, "temperature": 39.5}, 6, "medium", "yellow"),
        ({"pulse": 115, "respiration_rate": 22, "temperature": 39.5, "spo2": 95}, 7, "high", "red"),
    ],
)
def test_aggregate_bands(values: dict[str, float], total: int, band: str, colour: str) -> None:
    result = score(News2Input(**{**ALL_NORMAL, **values}))  # type: ignore[arg-type]
    assert (result.total, result.band, result.colour) == (total, band, colour)


def test_unmeasured_parameters_are_missing_and_the_score_partial_not_normal() -> None:
    kiosk = News2Input(spo2=91, systolic_bp=120, pulse=135, temperature=37.0)
    result = score(kiosk)
    assert result.partial
    assert result.missing == ("respiration_rate", "air_or_oxygen", "consciousness")
    assert set(result.points) == {"spo2", "systolic_bp", "pulse", "temperature"}
    assert (result.total, result.band) == (6, "medium")
    nothing = score(News2Input())
    assert nothing.missing == news2.PARAMETERS
    assert nothing.points == {}
