"""The nurses' dashboard served by the bridge, and what only it needs.

``GET /dashboard``: one static page (``cloud_bridge/dashboard_page/index.html``: HTML, CSS and
vanilla JS, no build step, nothing from the network), Chinese first with an English switch. It
reads ``/residents/status``, ``/alerts``, ``/residents/{subject}/readings`` and these:
- ``GET /dashboard/residents`` → ``{"residents": [{subject, floor, room}], "codes": [{code, name,
  name_zh, unit}]}``: where residents live (``alerts.rules.residents.*.floor``/``room``) and
  the codes the trend plot offers.
- ``GET /dashboard/bands/{subject}`` → ``{"bands": {code: {yellow_above, red_above,
  yellow_below, red_below}}}``: the bands the alert rules apply to that resident.
- ``POST /events/ticket`` → ``{"ticket": …}`` and ``GET /events?ticket=…``: ``text/event-stream``
  from ``LiveFeed``, opened with a single-use ticket (``stream_tickets``).

The page is open (it holds no data); everything it reads needs a nurse's token.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import HTMLResponse, StreamingResponse

from careedge_common import codes
from careedge_common.config import AlertsConfig
from cloud_bridge.api_readings import SUBJECT_PATTERN
from cloud_bridge.live_feed import LiveFeed
from cloud_bridge.rules import ThresholdRules
from cloud_bridge.stream_tickets import StreamTickets

PAGE = "index.html"
NO_STORE = {"Cache-Control": "no-store"}
TREND_CODES = (
    codes.SYSTOLIC,
    codes.DIASTOLIC,
    codes.PULSE,
    codes.SPO2,
    codes.BODY_TEMPERATURE,
    codes.RESPIRATORY_RATE,
    codes.BODY_WEIGHT,
    codes.GLUCOSE,
)


@dataclass(frozen=True, slots=True)
class DashboardSources:
    feed: LiveFeed
    alerts: AlertsConfig


def dashboard_router(sources: DashboardSources, nurse: Any) -> APIRouter:
    """``nurse`` is the access dependency the data routes need."""
    router = APIRouter()
    tickets = StreamTickets()
    page = resources.files("cloud_bridge.dashboard_page").joinpath(PAGE).read_text(encoding="utf-8")
    thresholds = ThresholdRules(sources.alerts.thresholds, sources.alerts.rules)
    places = [
        {"subject": subject, "floor": rules.floor, "room": rules.room}
        for subject, rules in sorted(sources.alerts.rules.residents.items())
    ]
    trend_codes = [
        {"code": kind.code, "name": kind.name, "name_zh": kind.name_zh, "unit": kind.unit}
        for kind in TREND_CODES
    ]

    @router.get("/dashboard", response_class=HTMLResponse)
    def get_page() -> HTMLResponse:
        return HTMLResponse(page, headers=NO_STORE)

    @router.get("/dashboard/residents", dependencies=[nurse])
    def get_residents() -> dict[str, list[dict[str, Any]]]:
        return {"residents": places, "codes": trend_codes}

    @router.get("/dashboard/bands/{subject}", dependencies=[nurse])
    def get_bands(subject: Annotated[str, Path(pattern=SUBJECT_PATTERN)]) -> dict[str, dict[str, Any]]:
        bands = {kind.code: thresholds.bands(subject, kind.code) for kind in TREND_CODES}
        return {
            "bands": {
                code: band.model_dump(exclude={"code"}) for code, band in bands.items() if band is not None
            }
        }

    @router.post("/events/ticket", dependencies=[nurse])
    def post_ticket() -> dict[str, str]:
        return {"ticket": tickets.issue()}

    @router.get("/events", response_class=StreamingResponse)
    def get_events(ticket: Annotated[str, Query(max_length=64)]) -> StreamingResponse:
        if not tickets.redeem(ticket):
            raise HTTPException(status_code=401, detail="unknown or used stream ticket")
        return StreamingResponse(
            sources.feed.stream(),
            media_type="text/event-stream",
            headers={**NO_STORE, "X-Accel-Buffering": "no"},
        )

    return router
