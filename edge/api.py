"""The edge's local HTTP surface: health for the technician, metrics for Prometheus, and the
routers of the kiosk page and the staff's binding API (``edge.kiosk_api``, ``edge.staff_api``).

Bound to localhost by default (config ``gateway.api``): it describes a care home's devices and,
through the kiosk and staff routes, shows residents' display names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from edge.metrics import EdgeMetrics


def create_app(
    metrics: EdgeMetrics, health: Callable[[], dict[str, Any]], routers: Sequence[APIRouter] = ()
) -> FastAPI:
    app = FastAPI(title="CareEdge edge", version="1", docs_url=None, redoc_url=None)
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

    @app.get("/metrics")
    def get_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
