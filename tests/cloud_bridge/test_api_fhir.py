"""FHIR export: the searchset bundle parses back with the fhir.resources models and says what
the store holds (codes, UCUM units, values, times); search parameters narrow it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from alerts_kit import ANNA, BORIS, T0, reading
from api_kit import api_over
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation, ObservationComponent
from fhir.resources.R4B.operationoutcome import OperationOutcome

from careedge_common.envelope import Envelope

UCUM = "http://unitsofmeasure.org"


def blood_pressure(subject: str, at_minutes: int, systolic: float, diastolic: float) -> Envelope:
    at = T0 + timedelta(minutes=at_minutes)
    return reading(subject, at, device="cuff-1", systolic=systolic, diastolic=diastolic, pulse=72)


def observations(body: bytes) -> list[Observation]:
    bundle = Bundle.model_validate_json(body)
    assert bundle.type == "searchset"
    resources = [entry.resource for entry in bundle.entry or []]
    assert bundle.total == len(resources)
    assert all(isinstance(resource, Observation) for resource in resources)
    return [resource for resource in resources if isinstance(resource, Observation)]


def quantity_of(
    resource: Observation | ObservationComponent,
) -> tuple[str | None, Decimal | None, str | None, str | None]:
    value = resource.valueQuantity
    assert value is not None
    assert resource.code.coding
    return (resource.code.coding[0].code, value.value, value.system, value.code)


def test_bundle_parses_back_and_matches_the_stored_readings(tmp_path: Path) -> None:
    with api_over(tmp_path) as (api, alerts):
        pressure = blood_pressure(ANNA, 0, 150, 95)
        temperature = reading(ANNA, T0 + timedelta(minutes=5), temperature=36.6)
        alerts.feed(pressure, temperature, reading(BORIS, T0, systolic=120))

        response = api.get("/fhir/Observation", params={"subject": f"Patient/{ANNA}"})

        assert response.headers["content-type"] == "application/fhir+json"
        panel, pulse, body_temperature = observations(response.content)
        assert panel.id == f"{pressure.id}-bp"
        assert panel.code.coding[0].system == "http://loinc.org"
        assert panel.code.coding[0].code == "85354-9"
        assert panel.valueQuantity is None
        assert [quantity_of(component) for component in panel.component or []] == [
            ("8480-6", Decimal("150.0"), UCUM, "mm[Hg]"),
            ("8462-4", Decimal("95.0"), UCUM, "mm[Hg]"),
        ]
        assert quantity_of(pulse) == ("8867-4", Decimal("72.0"), UCUM, "/min")
        assert quantity_of(body_temperature) == ("8310-5", Decimal("36.6"), UCUM, "Cel")
        assert body_temperature.valueQuantity is not None
        assert body_temperature.valueQuantity.unit == "Cel"
        assert [resource.effectiveDateTime for resource in (panel, pulse, body_temperature)] == [
            T0,
            T0,
            T0 + timedelta(minutes=5),
        ]
        assert {resource.subject.reference for resource in (panel, pulse) if resource.subject} == {
            f"Patient/{ANNA}"
        }
        assert panel.category
        assert panel.category[0].coding
        assert panel.category[0].coding[0].code == "vital-signs"


def test_code_and_date_narrow_the_search(tmp_path: Path) -> None:
    with api_over(tmp_path) as (api, alerts):
        alerts.feed(*(blood_pressure(ANNA, minutes, 120 + minutes, 80) for minutes in (0, 60, 120)))
        alerts.feed(reading(ANNA, T0 + timedelta(minutes=60), systolic=130))

        found = observations(
            api.get(
                "/fhir/Observation",
                params=[
                    ("subject", ANNA),
                    ("code", "http://loinc.org|85354-9"),
                    ("date", "ge2026-03-02T09:00:00Z"),
                    ("date", "lt2026-03-02T10:00:00+00:00"),
                ],
            ).content
        )
        assert [(resource.code.coding[0].code, resource.effectiveDateTime) for resource in found] == [
            ("85354-9", T0 + timedelta(minutes=60)),
            ("8480-6", T0 + timedelta(minutes=60)),
        ]
        whole_day = observations(
            api.get("/fhir/Observation", params={"code": "8867-4", "date": "2026-03-02"}).content
        )
        assert len(whole_day) == 3
        next_day = observations(api.get("/fhir/Observation", params={"date": "gt2026-03-02"}).content)
        assert next_day == []


def test_a_bad_parameter_is_an_operation_outcome(tmp_path: Path) -> None:
    with api_over(tmp_path) as (api, _alerts):
        for name, value in (("date", "ge2026-03-02T08:00:00"), ("code", "http://snomed.info/sct|1234")):
            response = api.get("/fhir/Observation", params={name: value})
            assert response.status_code == 400
            outcome = OperationOutcome.model_validate_json(response.content)
            assert outcome.issue[0].diagnostics is not None
            assert outcome.issue[0].diagnostics.startswith(f"{name}:")


def test_openapi_lists_the_fhir_search(tmp_path: Path) -> None:
    with api_over(tmp_path) as (api, _alerts):
        assert "/fhir/Observation" in api.get("/openapi.json").json()["paths"]
