"""``GET /fhir/Observation``: FHIR R4 search over the residents' stored readings, for sharing
results with a district health platform. Parameters: ``subject``, ``code``, ``date`` (see
``fhir_search``) and ``_count`` (newest readings kept). Answers a searchset ``Bundle`` as
``application/fhir+json`` (see ``fhir_export``); a bad parameter is a 400 with an
``OperationOutcome`` that names it. Only pseudonymous IDs appear in it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fhir.resources.R4B.operationoutcome import OperationOutcome, OperationOutcomeIssue

from cloud_bridge.fhir_export import observations_of, searchset
from cloud_bridge.fhir_search import SearchError, codes_of, subject_of, with_dates
from cloud_bridge.reading_queries import ReadingFilter, find_readings
from cloud_bridge.store import BridgeStore

FHIR_JSON = "application/fhir+json"
DEFAULT_COUNT = 1000
MAX_COUNT = 10_000


def fhir_router(store: BridgeStore) -> APIRouter:
    router = APIRouter(prefix="/fhir")

    @router.get("/Observation", response_class=Response)
    def search_observations(
        request: Request,
        subject: Annotated[str | None, Query(max_length=80)] = None,
        code: Annotated[str | None, Query(max_length=400)] = None,
        date: Annotated[list[str], Query(max_length=4)] = [],  # noqa: B006 - FastAPI copies defaults
        count: Annotated[int, Query(alias="_count", ge=1, le=MAX_COUNT)] = DEFAULT_COUNT,
    ) -> Response:
        try:
            where = ReadingFilter(
                subject=None if subject is None else subject_of(subject),
                codes=() if code is None else codes_of(code),
                limit=count,
            )
            where = with_dates(where, date)
        except SearchError as exc:
            outcome = OperationOutcome(
                issue=[OperationOutcomeIssue(severity="error", code="invalid", diagnostics=str(exc))]
            )
            return Response(outcome.model_dump_json(exclude_none=True), 400, media_type=FHIR_JSON)
        with store.reading() as db:
            readings = find_readings(db, where)
        base = str(request.url_for("search_observations")).removesuffix("/Observation")
        bundle = searchset(observations_of(readings), base, str(request.url))
        return Response(bundle.model_dump_json(exclude_none=True), media_type=FHIR_JSON)

    return router
