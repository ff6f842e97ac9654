"""The kiosk page's words exist for every code, unit and band, and follow the thresholds' bands."""

from __future__ import annotations

import pytest

from careedge_common.codes import KINDS, ObservationKind
from careedge_common.config import Band, Direction, Threshold
from edge.kiosk_texts import BAND_LABELS, NOUNS, UNITS, band_label, explanation

BANDS = list(BAND_LABELS)


def test_every_known_code_and_unit_has_words_in_both_languages() -> None:
    assert set(NOUNS) == {kind.code for kind in KINDS}
    assert {kind.unit for kind in KINDS} <= set(UNITS)
    dimensionless = {"1", "[pH]"}
    units = [words for unit, words in UNITS.items() if unit not in dimensionless]
    for words in [*NOUNS.values(), *units, *BAND_LABELS.values()]:
        assert words.zh
        assert words.en
    assert all(UNITS[unit] == UNITS["1"] for unit in dimensionless), "the number alone, no unit words"


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.code)
@pytest.mark.parametrize(("band", "direction"), BANDS)
def test_every_explanation_names_the_measure(
    kind: ObservationKind, band: Band | None, direction: Direction | None
) -> None:
    text = explanation(kind.code, band, direction)
    assert NOUNS[kind.code].zh in text.zh
    assert NOUNS[kind.code].en in text.en
    assert "{" not in text.zh + text.en


def test_red_tells_the_resident_to_call_a_nurse_and_green_does_not() -> None:
    red = explanation("8480-6", "red", "above")
    assert "呼叫护士" in red.zh
    assert "Call nurse" in red.en
    green = explanation("8480-6", "green", None)
    assert "呼叫护士" not in green.zh
    assert "normal" in green.en


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (120, ("green", None)),
        (139, ("green", None)),
        (139.5, ("yellow", "above")),
        (180, ("yellow", "above")),
        (181, ("red", "above")),
        (90, ("green", None)),
        (89, ("yellow", "below")),
        (69, ("red", "below")),
    ],
)
def test_threshold_bands_are_strict_and_red_first(value: float, expected: tuple[str, str | None]) -> None:
    threshold = Threshold(code="8480-6", red_below=70, yellow_below=90, yellow_above=139, red_above=180)
    assert threshold.band(value) == expected
    assert band_label(*threshold.band(value)).zh
