"""Helpers for alert tests: a controllable clock, residents' readings, and an alert service on a
real SQLite store whose publications are collected in a list instead of going to MQTT."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from careedge_common.config import AlertsConfig, SiteInfo
from careedge_common.envelope import Envelope, new_event_id, rfc3339
from cloud_bridge.alert import Alert
from cloud_bridge.alert_service import AlertService
from cloud_bridge.alert_store import AlertFilter
from cloud_bridge.engine import AlertEngine
from cloud_bridge.events import GatewayState
from cloud_bridge.metrics import BridgeMetrics
from cloud_bridge.store import BridgeStore

SITE = "site-a"
ANNA = "s-" + "a" * 32
BORIS = "s-" + "b" * 32
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CODES = {
    "systolic": ("8480-6", "mm[Hg]"),
    "diastolic": ("8462-4", "mm[Hg]"),
    "pulse": ("8867-4", "/min"),
    "spo2": ("59408-5", "%"),
    "temperature": ("8310-5", "Cel"),
    "weight": ("29463-7", "kg"),
    "glucose": ("2339-0", "mmol/L"),
    "respiration": ("9279-1", "/min"),
}
SITE_THRESHOLDS = [
    {"code": "8480-6", "yellow_above": 140, "red_above": 180, "yellow_below": 100, "red_below": 90},
]


class Clock:
    """Now is whatever the test says; ``advance`` moves it."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def _envelope(kind: str, subject: str | None, at: datetime, device: str, **fields: Any) -> Envelope:
    document = {"id": new_event_id(), "seq": 1, "boot": 1, "site": SITE, "gateway": "gw-1", "device": device}
    return Envelope.model_validate(
        {
            **document,
            "type": kind,
            "measured_at": rfc3339(at),
            "received_at": rfc3339(at),
            "subject": subject,
            **fields,
        }
    )


def reading(
    subject: str | None, at: datetime, historical: bool = False, device: str = "kiosk-1", **values: float
) -> Envelope:
    """An observation envelope with one observation per keyword (``systolic=185``)."""
    observations = [
        {"code": CODES[kind][0], "name": kind, "value": value, "unit": CODES[kind][1]}
        for kind, value in values.items()
    ]
    return _envelope("observation", subject, at, device, historical=historical, obs=observations)


def event(
    kind: str, subject: str | None, at: datetime, data: dict[str, Any], device: str = "kiosk"
) -> Envelope:
    return _envelope(kind, subject, at, device, data=data)


@dataclass
class Alerts:
    """An alert service on a real store, driven by a test clock."""

    service: AlertService
    store: BridgeStore
    clock: Clock
    published: list[dict[str, Any]] = field(default_factory=list)
    config: AlertsConfig = field(default_factory=AlertsConfig)

    def feed(self, *envelopes: Envelope) -> None:
        self.service.commit_batch(envelopes, [], self.clock())

    def state(self, gateway: str, online: bool, offline_devices: tuple[str, ...] = ()) -> None:
        listed = offline_devices
        self.service.commit_batch([], [GatewayState(gateway, online, offline_devices, listed)], self.clock())

    def open(self, **where: Any) -> list[Alert]:
        return self.service.alerts(AlertFilter(open_only=True, **where))

    def all(self, **where: Any) -> list[Alert]:
        return self.service.alerts(AlertFilter(**where))

    def transitions(self, alert_id: str) -> list[tuple[str, list[str]]]:
        return [(step["kind"], step["reading_ids"]) for step in self.service.alert(alert_id)[1]]

    def kinds_published(self) -> list[tuple[str, str]]:
        return [(document["transition"], document["condition"]) for document in self.published]

    def close(self) -> None:
        self.store.close()


def make_alerts(
    tmp_path: Path,
    rules: dict[str, Any] | None = None,
    thresholds: list[dict[str, Any]] | None = None,
    timezone: str = "UTC",
    clock: Clock | None = None,
) -> Alerts:
    config = AlertsConfig.model_validate(
        {"thresholds": SITE_THRESHOLDS if thresholds is None else thresholds, "rules": rules or {}}
    )
    store = BridgeStore(tmp_path / "bridge.db")
    clock = clock or Clock()
    published: list[dict[str, Any]] = []
    engine = AlertEngine(SiteInfo(id=SITE, timezone=timezone), config)
    service = AlertService(
        SITE,
        store,
        engine,
        lambda _topic, payload: published.append(json.loads(payload)),
        BridgeMetrics(),
        clock,
    )
    return Alerts(service, store, clock, published, config)
