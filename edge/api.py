"""The edge's local HTTP surface: health for the technician, metrics for Prometheus, and the
routers of the kiosk page and the staff's binding API (``edge.kiosk_api``, ``edge.staff_api``).

Bound to localhost by default (config ``gateway.api``). ``/health`` and ``/metrics`` are open;
the routers guard their routes with API tokens (``careedge_common.access``), and every
state-changing request is written to the audit log with its actor. It describes a care home's devices and,
through the kiosk and staff routes, shows residents' display names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from careedge_common.access.app import protect
from careedge_common.access.guard import AccessGuard
from careedge_common.access.middleware import AuditHook
from edge.metrics import EdgeMetrics


def create_app(
    metrics: EdgeMetrics,
    health: Callable[[], dict[str, Any]],
    guard: AccessGuard,
    audit: AuditHook,
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    app = FastAPI(title="CareEdge edge", version="1", docs_url=None, redoc_url=None)
    protect(app, guard, audit)
    for router in routers:
        app.include_router(router)

    @app.get("/health")
    async def get_health(response: Response) -> dict[str, Any]:
        """200 while the daemon is connected to the broker; 503 otherwise (still collecting).

        Async on purpose: it runs on the daemon's loop, the only thread that touches the outbox.
        """
        document = health()
        if not document["mqtt_connected"]:
            response.status_code = 503
        return document

    @app.get("/metrics", response_class=PlainTextResponse)
    def get_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
