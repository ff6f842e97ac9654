"""The bridge's HTTP API: alerts, residents' status, health and Prometheus metrics.

``GET /alerts`` → ``{"alerts": [alert document, …]}`` newest first (documents as in
``cloud_bridge.alert``), filtered by ``severity``, ``subject``, ``since``, ``state``, ``open``,
``category``, ``scope``. ``GET /alerts/{id}`` → ``{"alert": …, "transitions": […]}``.
``POST /alerts/{id}/acknowledge`` and ``POST /alerts/{id}/resolve`` (no body; the transition
records the token's name as actor) → ``{"alert": …}``; 404 for an unknown alert, 409 for one
already resolved. Acknowledging twice is not an error. ``GET /residents/status`` →
``{"residents": [{subject, colour, open_alerts, news2}]}`` red first: ``colour`` is the worst of
the resident's open alerts and latest NEWS2 colour; ``news2`` says ``partial`` and lists
``missing`` parameters. Alerts and status need a ``nurse`` (or ``admin``) token
(``careedge_common.access``): 401 without one, 403 for another role.
Readings and gateways: ``cloud_bridge.api_readings``; FHIR export: ``cloud_bridge.api_fhir``
(both need a nurse's token too); the nurses' dashboard and its live feed: ``cloud_bridge.dashboard``.
``GET /openapi.json`` describes them all.
``GET /health`` → 200 when the MQTT session is up, the writer runs and the last sink write
succeeded, else 503; the body says which part is failing.
``GET /cabinet-events`` → ``{"events": [cabinet_event envelope, …]}`` newest first (nurse).
``GET /metrics`` → Prometheus text format of this bridge's own registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from careedge_common.access.app import protect
from careedge_common.access.guard import AccessGuard, require
from careedge_common.access.roles import Actor
from careedge_common.config_alerts import Category
from careedge_common.envelope import rfc3339
from cloud_bridge.alert import Alert, AlertState, Severity
from cloud_bridge.alert_service import AlertService, ResidentStatus
from cloud_bridge.alert_store import AlertClosed, AlertFilter, AlertNotFound
from cloud_bridge.api_fhir import fhir_router
from cloud_bridge.api_readings import readings_router
from cloud_bridge.dashboard import DashboardSources, dashboard_router
from cloud_bridge.metrics import BridgeMetrics
from cloud_bridge.store import BridgeStore

DEFAULT_ALERT_LIMIT = 100
MAX_ALERT_LIMIT = 1000
STATUS_ALERT_FIELDS = frozenset({"id", "category", "condition", "severity", "state", "title", "raised_at"})


@dataclass(frozen=True, slots=True)
class Health:
    mqtt_connected: bool
    writer_alive: bool
    sink_ok: bool
    last_write_at: datetime | None
    queue_depth: int
    webhooks: dict[str, int]
    """Webhook deliveries by state (pending, delivered, failed); informative, not part of ``ok``."""

    @property
    def ok(self) -> bool:
        return self.mqtt_connected and self.writer_alive and self.sink_ok


NURSE = require("nurse")


def create_app(
    alerts: AlertService,
    health: Callable[[], Health],
    metrics: BridgeMetrics,
    store: BridgeStore,
    dashboard: DashboardSources,
    guard: AccessGuard,
) -> FastAPI:
    """State-changing requests are audited by the alert transitions themselves (actor and time)."""
    app = FastAPI(title="CareEdge bridge", docs_url=None, redoc_url=None)
    protect(app, guard)
    app.include_router(readings_router(store), dependencies=[NURSE])
    app.include_router(fhir_router(store), dependencies=[NURSE])
    app.include_router(dashboard_router(dashboard, NURSE))

    @app.get("/alerts", dependencies=[NURSE])
    def list_alerts(
        severity: Severity | None = None,
        subject: Annotated[str | None, Query(max_length=64)] = None,
        since: Annotated[datetime | None, Query(description="RFC 3339 with an offset; inclusive")] = None,
        state: AlertState | None = None,
        open: Annotated[bool, Query(description="only alerts not yet resolved")] = False,
        category: Category | None = None,
        scope: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ALERT_LIMIT)] = DEFAULT_ALERT_LIMIT,
    ) -> dict[str, list[dict[str, Any]]]:
        if since is not None and since.tzinfo is None:
            raise HTTPException(422, "since: an RFC 3339 time with an offset (e.g. 2025-01-01T00:00:00Z)")
        where = AlertFilter(severity, subject, since, state, open, category, scope, limit)
        return {"alerts": [alert.model_dump(mode="json") for alert in alerts.alerts(where)]}

    @app.get("/alerts/{alert_id}", dependencies=[NURSE])
    def get_alert(alert_id: str) -> dict[str, Any]:
        try:
            alert, steps = alerts.alert(alert_id)
        except AlertNotFound:
            raise HTTPException(404, f"no alert {alert_id}") from None
        for step in steps:
            step["at"] = rfc3339(step["at"])
        return {"alert": alert.model_dump(mode="json"), "transitions": steps}

    @app.post("/alerts/{alert_id}/acknowledge")
    def acknowledge(alert_id: str, actor: Actor = NURSE) -> dict[str, Any]:
        return _acting(alert_id, lambda: alerts.acknowledge(alert_id, actor.name))

    @app.post("/alerts/{alert_id}/resolve")
    def resolve(alert_id: str, actor: Actor = NURSE) -> dict[str, Any]:
        return _acting(alert_id, lambda: alerts.resolve(alert_id, actor.name))

    @app.get("/residents/status", dependencies=[NURSE])
    def residents_status() -> dict[str, list[dict[str, Any]]]:
        return {"residents": [_status(status) for status in alerts.residents()]}

    @app.get("/cabinet-events", dependencies=[NURSE])
    def list_cabinet_events(
        limit: Annotated[int, Query(ge=1, le=MAX_ALERT_LIMIT)] = DEFAULT_ALERT_LIMIT,
    ) -> dict[str, list[dict[str, Any]]]:
        """Dispense, refill, temperature and fault events of the site's cabinets, newest first."""
        return {"events": [event.model_dump(mode="json") for event in alerts.cabinet_events(limit)]}

    @app.get("/health")
    def get_health() -> JSONResponse:
        current = health()
        body = {
            "status": "ok" if current.ok else "degraded",
            "mqtt_connected": current.mqtt_connected,
            "writer_alive": current.writer_alive,
            "sink_ok": current.sink_ok,
            "last_write_at": rfc3339(current.last_write_at) if current.last_write_at else None,
            "queue_depth": current.queue_depth,
            "webhooks": current.webhooks,
        }
        return JSONResponse(body, status_code=200 if current.ok else 503)

    @app.get("/metrics", response_class=PlainTextResponse)
    def get_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def _acting(alert_id: str, act: Callable[[], Alert]) -> dict[str, Any]:
    try:
        return {"alert": act().model_dump(mode="json")}
    except AlertNotFound:
        raise HTTPException(404, f"no alert {alert_id}") from None
    except AlertClosed:
        raise HTTPException(409, f"alert {alert_id} is resolved already") from None


def _status(status: ResidentStatus) -> dict[str, Any]:
    news2 = None
    if status.news2 is not None:
        news2 = {**status.news2, "measured_at": rfc3339(status.news2["measured_at"])}
    return {
        "subject": status.subject,
        "colour": status.colour,
        "open_alerts": [
            {key: value for key, value in alert.model_dump(mode="json").items() if key in STATUS_ALERT_FIELDS}
            for alert in status.open_alerts
        ],
        "news2": news2,
    }
