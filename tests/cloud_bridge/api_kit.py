"""The bridge's FastAPI app over an alert service on a real SQLite store, called in-process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alerts_kit import Alerts, make_alerts
from fastapi.testclient import TestClient

from careedge_common.config_access import AccessSettings
from careedge_testkit.tokens import role_headers, tokens_path
from cloud_bridge.access import bridge_guard
from cloud_bridge.api import Health, create_app
from cloud_bridge.dashboard import DashboardSources
from cloud_bridge.live_feed import LiveFeed
from cloud_bridge.metrics import BridgeMetrics

HEALTHY = Health(True, True, True, None, 0, {})


@contextmanager
def api_over(tmp_path: Path, **alerts_options: Any) -> Iterator[tuple[TestClient, Alerts]]:
    alerts = make_alerts(tmp_path, **alerts_options)
    feed = LiveFeed()
    sources = DashboardSources(feed, alerts.config)
    metrics = BridgeMetrics()
    guard = bridge_guard(AccessSettings.model_validate({"tokens_file": tokens_path(tmp_path)}), metrics)
    app = create_app(alerts.service, lambda: HEALTHY, metrics, alerts.store, sources, guard)
    try:
        with TestClient(app, headers=role_headers(tmp_path, "nurse")) as client:
            yield client, alerts
    finally:
        alerts.close()
