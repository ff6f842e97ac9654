"""The bridge API on a real alert store, guarded by a tokens file with one token per role."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alerts_kit import ANNA, T0, Alerts, make_alerts, reading
from api_kit import HEALTHY
from fastapi import FastAPI

from careedge_common.access.roles import Role
from careedge_common.config_access import AccessSettings
from careedge_testkit.tokens import issue_tokens
from cloud_bridge.access import bridge_guard
from cloud_bridge.api import create_app
from cloud_bridge.dashboard import DashboardSources
from cloud_bridge.live_feed import LiveFeed
from cloud_bridge.metrics import BridgeMetrics


@dataclass
class BridgeApi:
    app: FastAPI
    alerts: Alerts
    tokens: dict[Role, str]
    alert_id: str


def bridge_api(tmp_path: Path, **limits: float) -> BridgeApi:
    """One red alert for Anna is open; ``limits`` override ``AccessSettings`` fields."""
    tokens_file = tmp_path / "tokens.json"
    tokens = issue_tokens(tokens_file)
    settings = AccessSettings.model_validate({"tokens_file": tokens_file, **limits})
    alerts = make_alerts(tmp_path)
    alerts.feed(reading(ANNA, T0, systolic=185))
    (raised,) = alerts.open()
    metrics = BridgeMetrics()
    sources = DashboardSources(LiveFeed(), alerts.config)
    guard = bridge_guard(settings, metrics)
    app = create_app(alerts.service, lambda: HEALTHY, metrics, alerts.store, sources, guard)
    return BridgeApi(app, alerts, tokens, raised.id)
