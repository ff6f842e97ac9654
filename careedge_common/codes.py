"""Observation vocabulary shared by every driver and the bridge.

Each observation kind has one LOINC code and one canonical UCUM unit (DESIGN §3). Drivers convert
device units to the canonical unit and keep the device's value in ``raw``; the bridge and the
alert rules only ever see canonical units, so a threshold written in mm[Hg] never meets kPa.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ObservationKind:
    code: str
    name: str
    unit: str
    decimals: int
    """Digits kept after a unit conversion; device resolution is never finer than this."""
    name_zh: str
    """Label for Chinese-first screens (kiosk, dashboard, demo)."""


SYSTOLIC = ObservationKind("8480-6", "Systolic blood pressure", "mm[Hg]", 0, "收缩压")
DIASTOLIC = ObservationKind("8462-4", "Diastolic blood pressure", "mm[Hg]", 0, "舒张压")
MEAN_ARTERIAL = ObservationKind("8478-0", "Mean blood pressure", "mm[Hg]", 0, "平均动脉压")
PULSE = ObservationKind("8867-4", "Heart rate", "/min", 0, "脉率")
SPO2 = ObservationKind(
    "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", 0, "血氧饱和度"
)
BODY_TEMPERATURE = ObservationKind("8310-5", "Body temperature", "Cel", 1, "体温")
BODY_WEIGHT = ObservationKind("29463-7", "Body weight", "kg", 1, "体重")
GLUCOSE = ObservationKind("2339-0", "Glucose [Mass/volume] in Blood", "mmol/L", 1, "血糖")
RESPIRATORY_RATE = ObservationKind("9279-1", "Respiratory rate", "/min", 0, "呼吸频率")

# Point-of-care laboratory results (ASTM analyzers): SI units as Chinese laboratories report them.
TOTAL_CHOLESTEROL = ObservationKind(
    "2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mmol/L", 2, "总胆固醇"
)
HDL_CHOLESTEROL = ObservationKind(
    "2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "mmol/L", 2, "高密度脂蛋白胆固醇"
)
LDL_CHOLESTEROL_CALCULATED = ObservationKind(
    "13457-7",
    "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation",
    "mmol/L",
    2,
    "低密度脂蛋白胆固醇(计算)",
)
LDL_CHOLESTEROL_DIRECT = ObservationKind(
    "18262-6",
    "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay",
    "mmol/L",
    2,
    "低密度脂蛋白胆固醇(直接法)",
)
TRIGLYCERIDES = ObservationKind(
    "2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "mmol/L", 2, "甘油三酯"
)
URINE_GLUCOSE = ObservationKind("5792-7", "Glucose [Mass/volume] in Urine by Test strip", "mmol/L", 1, "尿糖")
URINE_PROTEIN = ObservationKind("5804-0", "Protein [Mass/volume] in Urine by Test strip", "g/L", 2, "尿蛋白")
URINE_KETONES = ObservationKind(
    "5797-6", "Ketones [Mass/volume] in Urine by Test strip", "mmol/L", 1, "尿酮体"
)
URINE_PH = ObservationKind("5803-2", "pH of Urine by Test strip", "[pH]", 1, "尿酸碱度")
URINE_SPECIFIC_GRAVITY = ObservationKind(
    "5811-5", "Specific gravity of Urine by Test strip", "1", 3, "尿比重"
)
URINE_LEUKOCYTES = ObservationKind(
    "5799-2", "Leukocytes [#/volume] in Urine by Test strip", "/uL", 0, "尿白细胞"
)

KINDS: tuple[ObservationKind, ...] = (
    SYSTOLIC,
    DIASTOLIC,
    MEAN_ARTERIAL,
    PULSE,
    SPO2,
    BODY_TEMPERATURE,
    BODY_WEIGHT,
    GLUCOSE,
    RESPIRATORY_RATE,
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
BY_CODE: dict[str, ObservationKind] = {kind.code: kind for kind in KINDS}
