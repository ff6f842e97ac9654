# ruff: noqa: RUF001 - Chinese sentences take full-width commas and brackets, as written Chinese does.
"""What the kiosk page says about a result, in plain Chinese and English.

Written for an older resident reading alone at a kiosk: short sentences, everyday words, and for a
red result one clear thing to do. They describe the band the site's thresholds put the value in
(``Threshold.band``); they never diagnose. Only codes in ``careedge_common.codes`` appear here, and a
test checks every code has its words.
"""

from __future__ import annotations

from dataclasses import dataclass

from careedge_common.codes import (
    BODY_TEMPERATURE,
    BODY_WEIGHT,
    DIASTOLIC,
    GLUCOSE,
    HDL_CHOLESTEROL,
    LDL_CHOLESTEROL_CALCULATED,
    LDL_CHOLESTEROL_DIRECT,
    MEAN_ARTERIAL,
    PULSE,
    RESPIRATORY_RATE,
    SPO2,
    SYSTOLIC,
    TOTAL_CHOLESTEROL,
    TRIGLYCERIDES,
    URINE_GLUCOSE,
    URINE_KETONES,
    URINE_LEUKOCYTES,
    URINE_PH,
    URINE_PROTEIN,
    URINE_SPECIFIC_GRAVITY,
)
from careedge_common.config import Band, Direction


@dataclass(frozen=True, slots=True)
class Bilingual:
    zh: str
    en: str


NOUNS: dict[str, Bilingual] = {
    SYSTOLIC.code: Bilingual("高压（收缩压）", "upper blood pressure (systolic)"),
    DIASTOLIC.code: Bilingual("低压（舒张压）", "lower blood pressure (diastolic)"),
    MEAN_ARTERIAL.code: Bilingual("平均血压", "average blood pressure"),
    PULSE.code: Bilingual("脉搏", "pulse"),
    SPO2.code: Bilingual("血氧", "blood oxygen"),
    BODY_TEMPERATURE.code: Bilingual("体温", "temperature"),
    BODY_WEIGHT.code: Bilingual("体重", "weight"),
    GLUCOSE.code: Bilingual("血糖", "blood sugar"),
    RESPIRATORY_RATE.code: Bilingual("呼吸", "breathing rate"),
    TOTAL_CHOLESTEROL.code: Bilingual("总胆固醇", "total cholesterol"),
    HDL_CHOLESTEROL.code: Bilingual("“好”胆固醇（高密度脂蛋白）", "“good” cholesterol (HDL)"),
    LDL_CHOLESTEROL_CALCULATED.code: Bilingual("“坏”胆固醇（低密度脂蛋白）", "“bad” cholesterol (LDL)"),
    LDL_CHOLESTEROL_DIRECT.code: Bilingual("“坏”胆固醇（低密度脂蛋白）", "“bad” cholesterol (LDL)"),
    TRIGLYCERIDES.code: Bilingual("甘油三酯（血脂）", "triglycerides (blood fat)"),
    URINE_GLUCOSE.code: Bilingual("尿糖", "sugar in urine"),
    URINE_PROTEIN.code: Bilingual("尿蛋白", "protein in urine"),
    URINE_KETONES.code: Bilingual("尿酮体", "ketones in urine"),
    URINE_PH.code: Bilingual("尿酸碱度", "urine acidity (pH)"),
    URINE_SPECIFIC_GRAVITY.code: Bilingual("尿比重", "urine concentration"),
    URINE_LEUKOCYTES.code: Bilingual("尿白细胞", "white cells in urine"),
}
UNITS: dict[str, Bilingual] = {
    "mm[Hg]": Bilingual("毫米汞柱", "mmHg"),
    "/min": Bilingual("次/分", "per minute"),
    "%": Bilingual("%", "%"),
    "Cel": Bilingual("°C", "°C"),
    "kg": Bilingual("公斤", "kg"),
    "mmol/L": Bilingual("毫摩尔/升", "mmol/L"),
    "g/L": Bilingual("克/升", "g/L"),
    # Dimensionless results (pH, specific gravity) show the number alone.
    "[pH]": Bilingual("", ""),
    "1": Bilingual("", ""),
    "/uL": Bilingual("个/微升", "per µL"),
}
BAND_LABELS: dict[tuple[Band | None, Direction | None], Bilingual] = {
    ("green", None): Bilingual("正常", "Normal"),
    ("yellow", "above"): Bilingual("偏高", "A little high"),
    ("yellow", "below"): Bilingual("偏低", "A little low"),
    ("red", "above"): Bilingual("过高", "Too high"),
    ("red", "below"): Bilingual("过低", "Too low"),
    (None, None): Bilingual("已记录", "Recorded"),
}
CALL_NURSE = Bilingual("“呼叫护士”", '"Call nurse"')

_ADVICE: dict[tuple[Band | None, Direction | None], Bilingual] = {
    ("green", None): Bilingual("{noun}在正常范围内。", "Your {noun} is in the normal range."),
    ("yellow", "above"): Bilingual(
        "{noun}有点高。请坐下休息几分钟，再测一次。护士会留意。",
        "Your {noun} is a little high. Sit and rest for a few minutes, then measure again. "
        "The nurses will keep an eye on it.",
    ),
    ("yellow", "below"): Bilingual(
        "{noun}有点低。请坐下休息。如果头晕或不舒服，请告诉护士。",
        "Your {noun} is a little low. Please sit and rest. If you feel dizzy or unwell, tell a nurse.",
    ),
    ("red", "above"): Bilingual(
        "{noun}太高了。请坐着不要走动，按{call}按钮，护士会来看您。",
        "Your {noun} is too high. Please stay seated and press {call}; a nurse will come to you.",
    ),
    ("red", "below"): Bilingual(
        "{noun}太低了。请坐着不要走动，按{call}按钮，护士会来看您。",
        "Your {noun} is too low. Please stay seated and press {call}; a nurse will come to you.",
    ),
    (None, None): Bilingual("{noun}已记录。", "Your {noun} has been recorded."),
}


def noun(code: str) -> Bilingual:
    return NOUNS.get(code, Bilingual(code, code))


def unit_text(unit: str) -> Bilingual:
    return UNITS.get(unit, Bilingual(unit, unit))


def band_label(band: Band | None, direction: Direction | None) -> Bilingual:
    return BAND_LABELS[(band, direction)]


def explanation(code: str, band: Band | None, direction: Direction | None) -> Bilingual:
    """One or two sentences for a value of ``code`` in ``band`` (None: no thresholds for the code)."""
    words = noun(code)
    advice = _ADVICE[(band, direction)]
    return Bilingual(
        advice.zh.format(noun=words.zh, call=CALL_NURSE.zh),
        advice.en.format(noun=words.en, call=CALL_NURSE.en),
    )
