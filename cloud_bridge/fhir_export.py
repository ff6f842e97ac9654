"""Stored readings as FHIR R4 ``Observation`` resources in a searchset ``Bundle``.

Built with the ``fhir.resources`` models of FHIR 4.3 (``fhir.resources.R4B``; the package's
default models are R5 and it has no 4.0.1 set that runs on pydantic 2). ``Observation`` did not
change between 4.0.1 and 4.3, so the JSON is what an R4 server accepts.

Each observation carries its LOINC code (system ``http://loinc.org``), the resident's pseudonymous
ID as ``Patient/{subject}`` (never a name), ``effectiveDateTime`` from ``measured_at`` and a
``valueQuantity`` in the code's canonical UCUM unit (``system`` ``http://unitsofmeasure.org``,
``code`` and ``unit`` both the UCUM unit). Codes with no known unit carry the bare value.

Blood pressure: a systolic and a diastolic value measured together (one envelope) become ONE
``85354-9`` panel observation with the two as components, because the FHIR vital-signs profile
for blood pressure requires exactly that shape and a district platform validating against it
would reject two loose observations. A systolic or diastolic value without its partner (a device
that reports only one) stays a separate observation under its own code, as nothing can be
invented for the other component.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from itertools import groupby

from fhir.resources.R4B.bundle import Bundle, BundleEntry, BundleEntrySearch, BundleLink
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.observation import Observation, ObservationComponent
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference

from careedge_common import codes
from cloud_bridge.reading_queries import StoredReading

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
BLOOD_PRESSURE_PANEL = "85354-9"
BLOOD_PRESSURE_PANEL_NAME = "Blood pressure panel with all children optional"
BLOOD_PRESSURE_PARTS = (codes.SYSTOLIC.code, codes.DIASTOLIC.code)
VITAL_SIGNS = frozenset(
    kind.code
    for kind in (
        codes.SYSTOLIC,
        codes.DIASTOLIC,
        codes.MEAN_ARTERIAL,
        codes.PULSE,
        codes.SPO2,
        codes.BODY_TEMPERATURE,
        codes.BODY_WEIGHT,
        codes.RESPIRATORY_RATE,
    )
) | {BLOOD_PRESSURE_PANEL}


def loinc(code: str, name: str | None) -> CodeableConcept:
    return CodeableConcept(coding=[Coding(system=LOINC, code=code, display=name)], text=name)


def decimal(value: float) -> Decimal:
    """The shortest decimal that reads back as the stored float (36.6, not 36.600000000000001)."""
    return Decimal(repr(value))


def quantity(reading: StoredReading) -> Quantity:
    if reading.unit is None:
        return Quantity(value=decimal(reading.value))
    return Quantity(value=decimal(reading.value), unit=reading.unit, system=UCUM, code=reading.unit)


def _category(code: str) -> list[CodeableConcept]:
    kind = ("vital-signs", "Vital Signs") if code in VITAL_SIGNS else ("laboratory", "Laboratory")
    return [CodeableConcept(coding=[Coding(system=CATEGORY_SYSTEM, code=kind[0], display=kind[1])])]


def _observation(
    first: StoredReading,
    code: str,
    resource_id: str,
    value: Quantity | None = None,
    components: list[ObservationComponent] | None = None,
) -> Observation:
    return Observation(
        id=resource_id,
        status="final",
        category=_category(code),
        code=loinc(code, first.name if code == first.code else BLOOD_PRESSURE_PANEL_NAME),
        subject=Reference(reference=f"Patient/{first.subject}"),
        effectiveDateTime=first.measured_at,
        valueQuantity=value,
        component=components,
    )


def observations_of(readings: Iterable[StoredReading]) -> list[Observation]:
    """In the order given; the readings of one envelope must be adjacent (``find_readings`` orders
    by time, then envelope)."""
    result: list[Observation] = []
    for reading_id, group in groupby(readings, key=lambda reading: reading.reading_id):
        rows = list(group)
        parts = {row.code: row for row in rows if row.code in BLOOD_PRESSURE_PARTS}
        if len(parts) == len(BLOOD_PRESSURE_PARTS):
            components = [
                ObservationComponent(code=loinc(code, parts[code].name), valueQuantity=quantity(parts[code]))
                for code in BLOOD_PRESSURE_PARTS
            ]
            result.append(
                _observation(rows[0], BLOOD_PRESSURE_PANEL, f"{reading_id}-bp", components=components)
            )
            rows = [row for row in rows if row.code not in BLOOD_PRESSURE_PARTS]
        result.extend(_observation(row, row.code, f"{reading_id}-{row.code}", quantity(row)) for row in rows)
    return result


def searchset(observations: Sequence[Observation], base_url: str, self_url: str) -> Bundle:
    """``base_url`` is where ``Observation/{id}`` would be read (the API's ``/fhir``)."""
    return Bundle(
        type="searchset",
        total=len(observations),
        link=[BundleLink(relation="self", url=self_url)],
        entry=[
            BundleEntry(
                fullUrl=f"{base_url}/Observation/{observation.id}",
                resource=observation,
                search=BundleEntrySearch(mode="match"),
            )
            for observation in observations
        ],
    )
