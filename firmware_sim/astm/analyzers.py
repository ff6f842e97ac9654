"""What point-of-care analyzers send: ASTM E1394 records for glucose meters, lipid analyzers and urine
strip readers, and a record of each result so a test can reconcile what was stored.

- glucose meter: a docking station uploads the meter's memory: one to four results, each its own
  P, O and R, with the occasional control-solution test (O-12 ``Q``, no patient) and a result
  beyond the meter's range (``LO``/``HI`` with R-7 ``<``/``>``);
- lipid analyzer (Cholestech LDX style): one cassette, one resident: TC, HDL, TRG, LDL (calculated,
  ``--`` when triglycerides are too high for the Friedewald formula), non-HDL, TC/HDL and glucose,
  with a long comment record that needs intermediate (ETB) frames;
- urine strip reader (URIT, Clinitek style): ten pads per strip; most read as categories
  (``NEG``, ``TRACE``, ``1+``), specific gravity and pH as numbers, positive glucose, ketones,
  protein and leukocyte pads as concentrations.

The analyzer's clock is local time without an offset (E1394), and never repeats a second, so each
result is identified by its resident, test and time. ``SentResult.loinc`` is the code a gateway
should store the result under, or None when it should not be stored (a category, a value beyond the
measuring range, a control specimen, or a test without a LOINC code in the product).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum

from careedge_common.codes import GLUCOSE
from firmware_sim.kiosk.residents import Resident
from firmware_sim.kiosk.vitals import MeasurementKind, draw

GLUCOSE_MG_DL_PER_MMOL_L = 18.016
CHOLESTEROL_MG_DL_PER_MMOL_L = 38.67
TRIGLYCERIDE_MG_DL_PER_MMOL_L = 88.57
FRIEDEWALD_TRIGLYCERIDE_LIMIT_MG_DL = 400
"""Above this LDL cannot be calculated from TC, HDL and TRG."""
ASTM_TIME_FORMAT = "%Y%m%d%H%M%S"
VERSION = "LIS2-A2"
LONG_COMMENT_REPEATS = 6
"""The lipid analyzer's lot comment is this many sentences: about 300 bytes, more than one frame."""


class AnalyzerKind(StrEnum):
    GLUCOSE_METER = "glucose"
    LIPID = "lipid"
    URINE = "urine"


class UnitSystem(StrEnum):
    SI = "si"
    """mmol/L and g/L, as Chinese laboratories report."""
    CONVENTIONAL = "conventional"
    """mg/dL."""


@dataclass(frozen=True, slots=True)
class SentResult:
    local_code: str
    value: str
    """R-4 exactly as sent."""
    unit: str
    measured_at: datetime
    """R-13, aware (the analyzer's offset)."""
    loinc: str | None
    resident_id: str | None = field(repr=False)
    """None for a control specimen."""


@dataclass(frozen=True, slots=True)
class Transmission:
    number: int
    """H-3, counting from 1 for each simulator run."""
    analyzer: AnalyzerKind
    sender: str
    """H-5 component 1."""
    records: tuple[bytes, ...] = field(repr=False)
    """UTF-8 records without their CR; they hold residents' names and identifiers."""
    results: tuple[SentResult, ...]

    @property
    def storable(self) -> tuple[SentResult, ...]:
        return tuple(result for result in self.results if result.loinc is not None)


@dataclass(frozen=True, slots=True)
class Instrument:
    name: str
    version: str
    serial: str


INSTRUMENTS: dict[AnalyzerKind, Instrument] = {
    AnalyzerKind.GLUCOSE_METER: Instrument("GLUCOMETER", "2.1.0", "GM0042"),
    AnalyzerKind.LIPID: Instrument("LDX", "3.40", "LDX12345"),
    AnalyzerKind.URINE: Instrument("URIT-500B", "1.2", "U5B0123"),
}
PANELS: dict[AnalyzerKind, tuple[str, str]] = {
    AnalyzerKind.GLUCOSE_METER: ("GLU", "CAP"),
    AnalyzerKind.LIPID: ("LIPID+GLU", "WB"),
    AnalyzerKind.URINE: ("UA", "URINE"),
}
"""O-5 test and O-16 specimen type."""
METER_RANGE_MMOL_L = (1.1, 33.3)
LIPID_RANGES_MG_DL: dict[str, tuple[int, int]] = {
    "TC": (100, 500),
    "HDL": (15, 100),
    "TRG": (45, 650),
    "GLU": (50, 500),
}
"""The LDX measuring ranges: a value outside is sent as ``<low`` or ``>high``."""
LIPID_LOINC: dict[str, str] = {
    "TC": "2093-3",
    "HDL": "2085-9",
    "TRG": "2571-8",
    "LDL": "13457-7",
    "GLU": GLUCOSE.code,
}
SI_FACTORS: dict[str, tuple[float, int]] = {
    "TRG": (TRIGLYCERIDE_MG_DL_PER_MMOL_L, 2),
    "GLU": (GLUCOSE_MG_DL_PER_MMOL_L, 1),
}
"""mg/dL per mmol/L and decimals sent, where they differ from cholesterol's (38.67, 2)."""
URINE_STEPS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str, str, str | None]] = {
    "GLU": (("5.6", "14", "28", "56"), ("100", "250", "500", "1000"), "mmol/L", "mg/dL", "5792-7"),
    "KET": (("0.5", "1.5", "3.9", "7.8"), ("5", "15", "40", "80"), "mmol/L", "mg/dL", "5797-6"),
    "PRO": (("0.15", "0.3", "1.0", "3.0"), ("15", "30", "100", "300"), "g/L", "mg/dL", "5804-0"),
    "LEU": (("15", "70", "125", "500"), ("15", "70", "125", "500"), "Leu/uL", "Leu/uL", "5799-2"),
}
"""Positive pad levels (SI, conventional), their units and LOINC code; a negative pad reads NEG."""
URINE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "BIL": ("1+", "2+", "3+"),
    "BLD": ("TRACE", "1+", "2+", "3+"),
    "NIT": ("POS",),
}
URINE_PAD_ORDER = ("GLU", "BIL", "KET", "SG", "BLD", "pH", "PRO", "URO", "NIT", "LEU")
SPECIFIC_GRAVITIES = ("1.005", "1.010", "1.015", "1.020", "1.025", "1.030")
URINE_PH_VALUES = ("5.0", "5.5", "6.0", "6.5", "7.0", "7.5", "8.0")


@dataclass(frozen=True, slots=True)
class _Result:
    """One R record before it gets its sequence number and time."""

    code: str
    value: str
    unit: str
    flag: str
    loinc: str | None


class TransmissionBuilder:
    """Draws results from ``rng`` and writes the records of one transmission.

    ``abnormal`` is the share of results drawn outside the reference range, ``out_of_range`` the
    share beyond the measuring range, ``quality_control`` the chance that a meter upload includes
    a control test. ``clock`` returns the analyzer's aware local time (default: now in
    ``utc_offset``). Raises ``ValueError`` for shares outside 0-1.
    """

    def __init__(
        self,
        *,
        analyzer: AnalyzerKind,
        rng: random.Random,
        units: UnitSystem,
        utc_offset: tzinfo,
        abnormal: float = 0.1,
        out_of_range: float = 0.02,
        quality_control: float = 0.05,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        for name, share in (
            ("abnormal", abnormal),
            ("out_of_range", out_of_range),
            ("quality_control", quality_control),
        ):
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"{name} must be a fraction between 0 and 1")
        self._analyzer = analyzer
        self._rng = rng
        self._units = units
        self._abnormal = abnormal
        self._out_of_range = out_of_range
        self._quality_control = quality_control
        self._clock = clock or (lambda: datetime.now(utc_offset))
        self._last_stamp: datetime | None = None

    @property
    def residents_per_transmission(self) -> int:
        """How many residents the next transmission covers (a meter upload holds several)."""
        return self._rng.randint(1, 4) if self._analyzer is AnalyzerKind.GLUCOSE_METER else 1

    def build(self, number: int, residents: Sequence[Resident]) -> Transmission:
        instrument = INSTRUMENTS[self._analyzer]
        sent_at = self._stamp()
        records = [
            f"H|\\^&|{number}||{instrument.name}^{instrument.version}^{instrument.serial}|||||||P|{VERSION}|"
            f"{sent_at:{ASTM_TIME_FORMAT}}"
        ]
        results: list[SentResult] = []
        patients = list(residents)
        control_at = (
            self._rng.randrange(len(patients) + 1)
            if self._analyzer is AnalyzerKind.GLUCOSE_METER and self._rng.random() < self._quality_control
            else None
        )
        for index in range(len(patients) + (control_at is not None)):
            resident = None if index == control_at else patients.pop(0)
            records.extend(self._patient_records(index + 1, resident, number, results))
        if self._analyzer is AnalyzerKind.LIPID:
            records.append(f"C|1|I|{self._lot_comment()}|G")
        records.append("L|1|N")
        return Transmission(
            number,
            self._analyzer,
            instrument.name,
            tuple(record.encode() for record in records),
            tuple(results),
        )

    def _patient_records(
        self, sequence: int, resident: Resident | None, number: int, results: list[SentResult]
    ) -> list[str]:
        test, specimen_type = PANELS[self._analyzer]
        collected = self._stamp()
        records = [self._patient(sequence, resident)]
        action = "Q" if resident is None else "N"
        records.append(
            f"O|1|{number:04d}-{sequence}||^^^{test}|R||{collected:{ASTM_TIME_FORMAT}}||||{action}||||"
            f"{'QC' if resident is None else specimen_type}"
        )
        completed = self._stamp()
        serial = INSTRUMENTS[self._analyzer].serial
        for position, drawn in enumerate(self._draw(control=resident is None), start=1):
            records.append(
                f"R|{position}|^^^{drawn.code}|{drawn.value}|{drawn.unit}||{drawn.flag}||F||OPER01||"
                f"{completed:{ASTM_TIME_FORMAT}}|{serial}"
            )
            stored = drawn.loinc if resident is not None else None
            resident_id = resident.resident_id if resident is not None else None
            results.append(SentResult(drawn.code, drawn.value, drawn.unit, completed, stored, resident_id))
        return records

    def _patient(self, sequence: int, resident: Resident | None) -> str:
        if resident is None:
            return f"P|{sequence}"
        birth = f"{resident.birth_date:%Y%m%d}" if resident.birth_date is not None else ""
        return (
            f"P|{sequence}|{resident.resident_id}|||{resident.family_name}^{resident.given_name}||{birth}|"
            f"{resident.sex or 'U'}"
        )

    def _draw(self, control: bool) -> list[_Result]:
        if self._analyzer is AnalyzerKind.GLUCOSE_METER:
            return [self._glucose(control)]
        if self._analyzer is AnalyzerKind.LIPID:
            return self._lipids()
        return self._urine()

    def _glucose(self, control: bool) -> _Result:
        abnormal = not control and self._rng.random() < self._abnormal
        [(_, mmol_per_l)] = draw(MeasurementKind.GLUCOSE, self._rng, abnormal=abnormal, baseline_weight=0.0)
        low, high = METER_RANGE_MMOL_L
        if not control and self._rng.random() < self._out_of_range:
            below = self._rng.random() < 0.5
            unit = "mmol/L" if self._units is UnitSystem.SI else "mg/dL"
            return _Result("GLU", "LO" if below else "HI", unit, "<" if below else ">", None)
        mmol_per_l = min(max(mmol_per_l, low), high)
        flag = "L" if mmol_per_l < 3.9 else "H" if mmol_per_l > 7.8 else "N"
        if self._units is UnitSystem.SI:
            return _Result("GLU", f"{mmol_per_l:.1f}", "mmol/L", flag, GLUCOSE.code)
        return _Result("GLU", f"{round(mmol_per_l * GLUCOSE_MG_DL_PER_MMOL_L)}", "mg/dL", flag, GLUCOSE.code)

    def _lipids(self) -> list[_Result]:
        rng = self._rng
        high = rng.random() < self._abnormal
        measured = {
            "TC": round(rng.gauss(245 if high else 185, 30)),
            "HDL": round(rng.gauss(42 if high else 55, 10)),
            "TRG": round(rng.lognormvariate(5.3 if high else 4.8, 0.35)),
            "GLU": round(rng.gauss(100, 15)),
        }
        if rng.random() < self._out_of_range:
            measured["TRG"] = rng.choice(LIPID_RANGES_MG_DL["TRG"]) + rng.choice((-15, 50))
        results = {code: self._lipid(code, value) for code, value in measured.items()}
        in_range = all(result.loinc is not None for result in results.values())
        total, hdl, triglycerides = measured["TC"], measured["HDL"], measured["TRG"]
        ldl = total - hdl - triglycerides / 5
        calculable = in_range and triglycerides <= FRIEDEWALD_TRIGLYCERIDE_LIMIT_MG_DL and ldl > 0
        unit = self._lipid_unit()
        return [
            results["TC"],
            results["HDL"],
            results["TRG"],
            _Result("LDL", self._concentration("LDL", ldl), unit, "N", LIPID_LOINC["LDL"])
            if calculable
            else _Result("LDL", "--", unit, "", None),
            _Result(
                "nHDLc", self._concentration("nHDLc", total - hdl) if in_range else "--", unit, "N", None
            ),
            _Result("TC/HDL", f"{total / hdl:.1f}" if in_range else "--", "", "N", None),
            results["GLU"],
        ]

    def _lipid(self, code: str, mg_per_dl: int) -> _Result:
        low, high = LIPID_RANGES_MG_DL[code]
        if low <= mg_per_dl <= high:
            return _Result(
                code, self._concentration(code, mg_per_dl), self._lipid_unit(), "N", LIPID_LOINC[code]
            )
        comparator, limit = ("<", low) if mg_per_dl < low else (">", high)
        return _Result(
            code, comparator + self._concentration(code, limit), self._lipid_unit(), comparator, None
        )

    def _concentration(self, code: str, mg_per_dl: float) -> str:
        if self._units is UnitSystem.CONVENTIONAL:
            return f"{round(mg_per_dl)}"
        factor, decimals = SI_FACTORS.get(code, (CHOLESTEROL_MG_DL_PER_MMOL_L, 2))
        return f"{mg_per_dl / factor:.{decimals}f}"

    def _lipid_unit(self) -> str:
        return "mg/dL" if self._units is UnitSystem.CONVENTIONAL else "mmol/L"

    def _urine(self) -> list[_Result]:
        rng = self._rng
        results = []
        for pad in URINE_PAD_ORDER:
            positive = rng.random() < self._abnormal
            if pad in URINE_STEPS:
                si_levels, conventional_levels, si_unit, conventional_unit, loinc = URINE_STEPS[pad]
                si = self._units is UnitSystem.SI
                unit = si_unit if si else conventional_unit
                if positive:
                    level = rng.randrange(len(si_levels))
                    value = si_levels[level] if si else conventional_levels[level]
                    results.append(_Result(pad, value, unit, "A", loinc))
                else:
                    results.append(_Result(pad, "NEG", unit, "N", None))
            elif pad in URINE_CATEGORIES:
                value = rng.choice(URINE_CATEGORIES[pad]) if positive else "NEG"
                results.append(_Result(pad, value, "", "A" if positive else "N", None))
            elif pad == "SG":
                results.append(_Result(pad, rng.choice(SPECIFIC_GRAVITIES), "", "N", "5811-5"))
            elif pad == "pH":
                results.append(_Result(pad, rng.choice(URINE_PH_VALUES), "", "N", "5803-2"))
            else:
                value, unit = ("3.2", "umol/L") if self._units is UnitSystem.SI else ("0.2", "mg/dL")
                results.append(_Result(pad, value, unit, "N", None))
        return results

    def _lot_comment(self) -> str:
        lot = self._rng.randint(1000, 9999)
        sentence = f"Cassette lot {lot}; optics check OK; QC levels 1 and 2 within limits. "
        return (sentence * LONG_COMMENT_REPEATS).strip()

    def _stamp(self) -> datetime:
        """The analyzer's clock, whole seconds, never the same second twice."""
        now = self._clock().replace(microsecond=0)
        if self._last_stamp is not None and now <= self._last_stamp:
            now = self._last_stamp + timedelta(seconds=1)
        self._last_stamp = now
        return now
