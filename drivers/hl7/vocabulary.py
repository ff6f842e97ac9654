"""What OBX-3 and OBX-6 codes mean: LOINC and IEEE 11073-10101 (MDC) to the product's vocabulary.

Kiosks usually send LOINC (coding system ``LN``). Device HL7 following IHE PCD-01 sends MDC codes
(coding system ``MDC``) as the 32-bit context-free code: partition * 65536 + term code, e.g.
MDC_PRESS_BLD_NONINV_SYS is term 18949 of partition 2 (SCADA), so 150021.
"""

from __future__ import annotations

from careedge_common.codes import (
    BODY_TEMPERATURE,
    BODY_WEIGHT,
    BY_CODE,
    DIASTOLIC,
    GLUCOSE,
    MEAN_ARTERIAL,
    PULSE,
    RESPIRATORY_RATE,
    SPO2,
    SYSTOLIC,
    ObservationKind,
)

LOINC_SYSTEM = "LN"
MDC_SYSTEM = "MDC"

MDC_OBSERVATIONS: dict[str, ObservationKind] = {
    "150021": SYSTOLIC,  # MDC_PRESS_BLD_NONINV_SYS
    "150022": DIASTOLIC,  # MDC_PRESS_BLD_NONINV_DIA
    "150023": MEAN_ARTERIAL,  # MDC_PRESS_BLD_NONINV_MEAN
    "150301": SYSTOLIC,  # MDC_PRESS_CUFF_SYS
    "150302": DIASTOLIC,  # MDC_PRESS_CUFF_DIA
    "150303": MEAN_ARTERIAL,  # MDC_PRESS_CUFF_MEAN
    "149530": PULSE,  # MDC_PULS_OXIM_PULS_RATE
    "149546": PULSE,  # MDC_PULS_RATE_NON_INV (pulse from a blood pressure cuff)
    "147842": PULSE,  # MDC_ECG_HEART_RATE
    "150456": SPO2,  # MDC_PULS_OXIM_SAT_O2
    "150364": BODY_TEMPERATURE,  # MDC_TEMP_BODY
    "150392": BODY_TEMPERATURE,  # MDC_TEMP_TYMP
    "188424": BODY_TEMPERATURE,  # MDC_TEMP_ORAL
    "188428": BODY_TEMPERATURE,  # MDC_TEMP_EAR
    "188736": BODY_WEIGHT,  # MDC_MASS_BODY_ACTUAL
    "160184": GLUCOSE,  # MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD
    "151562": RESPIRATORY_RATE,  # MDC_RESP_RATE
}

MDC_UNITS: dict[str, str] = {
    "262688": "%",  # MDC_DIM_PERCENT
    "263875": "kg",  # MDC_DIM_KILO_G
    "263904": "[lb_av]",  # MDC_DIM_LB
    "264274": "mg/dL",  # MDC_DIM_MILLI_G_PER_DL
    "264864": "/min",  # MDC_DIM_BEAT_PER_MIN
    "264928": "/min",  # MDC_DIM_RESP_PER_MIN
    "265987": "kPa",  # MDC_DIM_KILO_PASCAL
    "266016": "mm[Hg]",  # MDC_DIM_MMHG
    "266560": "[degF]",  # MDC_DIM_FAHR
    "266866": "mmol/L",  # MDC_DIM_MILLI_MOLE_PER_L
    "268192": "Cel",  # MDC_DIM_DEGC
}
"""MDC dimension codes (partition 4) -> UCUM."""

_OBSERVATION_TABLES: dict[str, dict[str, ObservationKind]] = {
    LOINC_SYSTEM: BY_CODE,
    MDC_SYSTEM: MDC_OBSERVATIONS,
}


def observation_kind(code: str, system: str) -> ObservationKind | None:
    """The kind an OBX-3 identifier names in ``system``, or None if the product does not know it.

    An empty coding system is read as LOINC or MDC, whichever knows the code: LOINC codes carry a
    check digit after a hyphen, MDC codes are plain numbers, so the two never collide.
    """
    if system:
        table = _OBSERVATION_TABLES.get(system.upper())
        return table.get(code) if table is not None else None
    return BY_CODE.get(code) or MDC_OBSERVATIONS.get(code)


def unit_text(identifier: str, text: str, system: str) -> str | None:
    """The unit an OBX-6 names, as UCUM for MDC codes and as sent otherwise; None when it is empty.

    An MDC code that is not in ``MDC_UNITS`` comes back as sent, so the conversion refuses it.
    """
    if system.upper() == MDC_SYSTEM or (not system and identifier in MDC_UNITS):
        return MDC_UNITS.get(identifier, identifier)
    return identifier or text or None
