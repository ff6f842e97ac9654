"""The bridge's HTTP API: alerts, health and Prometheus metrics.

``GET /alerts`` → ``{"alerts": [alert document, …]}`` newest first (documents as in
``cloud_bridge.alert``). ``GET /health`` → 200 when the MQTT session is up, the writer runs and
the last sink write succeeded, else 503; the body says which part is failing.
``GET /metrics`` → Prometheus text format of this bridge's own registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from careedge_common.envelope import rfc3339
from cloud_bridge.alert import Severity
from cloud_bridge.metrics import BridgeMetrics
from cloud_bridge.store import BridgeStore

DEFAULT_ALERT_LIMIT = 100
MAX_ALERT_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Health:
    mqtt_connected: bool
    writer_alive: bool
    sink_ok: bool
    last_write_at: datetime | None
    queue_depth: int

    @property
    def ok(self) -> bool:
        return self.mqtt_connected and self.writer_alive and self.sink_ok


def create_app(store: BridgeStore, health: Callable[[], Health], metrics: BridgeMetrics) -> FastAPI:
    app = FastAPI(title="CareEdge bridge", docs_url=None, redoc_url=None)

    @app.get("/alerts")
    def list_alerts(
        severity: Severity | None = None,
        subject: Annotated[str | None, Query(max_length=64)] = None,
        since: Annotated[datetime | None, Query(description="RFC 3339 with an offset; inclusive")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ALERT_LIMIT)] = DEFAULT_ALERT_LIMIT,
    ) -> dict[str, list[dict[str, Any]]]:
        if since is not None and since.tzinfo is None:
            raise HTTPException(422, "since: an RFC 3339 time with an offset (e.g. 2025-01-01T00:00:00Z)")
        found = store.alerts(severity=severity, subject=subject, since=since, limit=limit)
        return {"alerts": [alert.model_dump(mode="json") for alert in found]}

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
        }
        return JSONResponse(body, status_code=200 if current.ok else 503)

    @app.get("/metrics")
    def get_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
