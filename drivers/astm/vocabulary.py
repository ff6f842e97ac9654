"""What R-3 (universal test ID) means: analyzer test codes and LOINC codes to the product's vocabulary.

R-3 is ``universal ID ^ name ^ type ^ local code``. Point-of-care analyzers fill the fourth
component (``^^^GLU``) with their own code, which means different things on different analyzers
(``GLU`` is blood glucose on a meter and urine glucose on a strip reader), so the local table is
chosen per device (``Analytes``). A LOINC code in the first component is understood on any device.

The product's rule, set by glucose (2339-0 in mmol/L): the LOINC code names the analyte, the
canonical unit is the SI unit Chinese laboratories report. Some of these LOINC codes are defined
with a mass-concentration property (e.g. 2093-3 is Cholesterol [Mass/volume]); their
moles-per-volume twins are accepted as synonyms of the same kind.

Dipstick
tests that report a category only (blood, nitrite, bilirubin: LOINC "[Presence]") are recognised
as ``CategoricalTest`` and never stored: an envelope observation carries a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from careedge_common.codes import BY_CODE as SHARED_BY_CODE
from careedge_common.codes import (
    GLUCOSE,
    HDL_CHOLESTEROL,
    LDL_CHOLESTEROL_CALCULATED,
    LDL_CHOLESTEROL_DIRECT,
    TOTAL_CHOLESTEROL,
    TRIGLYCERIDES,
    URINE_GLUCOSE,
    URINE_KETONES,
    URINE_LEUKOCYTES,
    URINE_PH,
    URINE_PROTEIN,
    URINE_SPECIFIC_GRAVITY,
    ObservationKind,
)


class Analytes(StrEnum):
    """Which local code table a device's R-3 codes are read with."""

    BLOOD = "blood"
    """Glucose meters and lipid analyzers (capillary or venous whole blood)."""
    URINE = "urine"
    """Urine test-strip readers."""


@dataclass(frozen=True, slots=True)
class CategoricalTest:
    """A test whose result is a category (``NEG``, ``1+``, ``POS``), not a quantity."""

    code: str
    name: str
    name_zh: str


Test = ObservationKind | CategoricalTest


URINE_BLOOD = CategoricalTest("5794-3", "Hemoglobin [Presence] in Urine by Test strip", "尿潜血")
URINE_NITRITE = CategoricalTest("5802-4", "Nitrite [Presence] in Urine by Test strip", "尿亚硝酸盐")
URINE_BILIRUBIN = CategoricalTest("5770-3", "Bilirubin.total [Presence] in Urine by Test strip", "尿胆红素")

KINDS: tuple[ObservationKind, ...] = (
    TOTAL_CHOLESTEROL,
    HDL_CHOLESTEROL,
    LDL_CHOLESTEROL_CALCULATED,
    LDL_CHOLESTEROL_DIRECT,
    TRIGLYCERIDES,
    URINE_GLUCOSE,
    URINE_PROTEIN,
    URINE_KETONES,
    URINE_PH,
    URINE_SPECIFIC_GRAVITY,
    URINE_LEUKOCYTES,
)
"""Laboratory kinds whose device units ``conversions`` handles itself (``drivers.units`` covers vitals)."""
CATEGORICAL_TESTS: tuple[CategoricalTest, ...] = (URINE_BLOOD, URINE_NITRITE, URINE_BILIRUBIN)
KINDS_BY_CODE: dict[str, ObservationKind] = {kind.code: kind for kind in KINDS}

LOINC_SYNONYMS: dict[str, ObservationKind] = {
    "15074-8": GLUCOSE,  # Glucose [Moles/volume] in Blood
    "41653-7": GLUCOSE,  # Glucose [Mass/volume] in Capillary blood by Glucometer
    "14743-9": GLUCOSE,  # Glucose [Moles/volume] in Capillary blood by Glucometer
    "32016-8": GLUCOSE,  # Glucose [Mass/volume] in Capillary blood
    "14647-2": TOTAL_CHOLESTEROL,  # Cholesterol [Moles/volume] in Serum or Plasma
    "14646-4": HDL_CHOLESTEROL,  # Cholesterol in HDL [Moles/volume] in Serum or Plasma
    "39469-2": LDL_CHOLESTEROL_CALCULATED,  # Cholesterol in LDL [Moles/volume] ... by calculation
    "14927-8": TRIGLYCERIDES,  # Triglyceride [Moles/volume] in Serum or Plasma
}
LOINC_TESTS: dict[str, Test] = {
    **SHARED_BY_CODE,
    **{test.code: test for test in CATEGORICAL_TESTS},
    **LOINC_SYNONYMS,
}

LOCAL_CODES: dict[Analytes, dict[str, Test]] = {
    Analytes.BLOOD: {
        "GLU": GLUCOSE,
        "GLUC": GLUCOSE,
        "BG": GLUCOSE,
        "TC": TOTAL_CHOLESTEROL,
        "CHOL": TOTAL_CHOLESTEROL,
        "TCHOL": TOTAL_CHOLESTEROL,
        "HDL": HDL_CHOLESTEROL,
        "HDL-C": HDL_CHOLESTEROL,
        "LDL": LDL_CHOLESTEROL_CALCULATED,
        "LDL-C": LDL_CHOLESTEROL_CALCULATED,
        "CLDL": LDL_CHOLESTEROL_CALCULATED,
        "DLDL": LDL_CHOLESTEROL_DIRECT,
        "LDL-D": LDL_CHOLESTEROL_DIRECT,
        "TG": TRIGLYCERIDES,
        "TRG": TRIGLYCERIDES,
        "TRIG": TRIGLYCERIDES,
    },
    Analytes.URINE: {
        "GLU": URINE_GLUCOSE,
        "PRO": URINE_PROTEIN,
        "KET": URINE_KETONES,
        "PH": URINE_PH,
        "SG": URINE_SPECIFIC_GRAVITY,
        "LEU": URINE_LEUKOCYTES,
        "BLD": URINE_BLOOD,
        "BLO": URINE_BLOOD,
        "ERY": URINE_BLOOD,
        "NIT": URINE_NITRITE,
        "BIL": URINE_BILIRUBIN,
    },
}
"""Analyzer codes (compared without case) as common glucose meters, lipid analyzers (Cholestech
LDX style) and urine strip readers (Clinitek, URIT style) send them."""


def find_test(universal_id: str, local_code: str, analytes: Analytes) -> Test | None:
    """The test R-3 names: its LOINC code (component 1) if known, else the device's local code
    (component 4) in ``analytes``' table; None when neither is known."""
    return LOINC_TESTS.get(universal_id) or LOCAL_CODES[analytes].get(local_code.upper())
