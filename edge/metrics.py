"""Prometheus metrics of one edge daemon, in their own registry so tests can run several."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class EdgeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.readings_accepted = Counter(
            "careedge_edge_readings_accepted_total",
            "Readings stored in the outbox and acknowledged to the device",
            ["device"],
            registry=registry,
        )
        self.inputs_rejected = Counter(
            "careedge_edge_inputs_rejected_total",
            "Device inputs rejected, by reason",
            ["device", "reason"],
            registry=registry,
        )
        self.device_up = Gauge(
            "careedge_edge_device_up", "1 while the device transport is open", ["device"], registry=registry
        )
        self.device_reconnects = Counter(
            "careedge_edge_device_reconnects_total",
            "Attempts to reopen a device",
            ["device"],
            registry=registry,
        )
        self.outbox_depth = Gauge(
            "careedge_edge_outbox_pending",
            "Readings stored but not yet acknowledged by the broker",
            registry=registry,
        )
        self.outbox_oldest_age = Gauge(
            "careedge_edge_outbox_oldest_pending_seconds",
            "Age of the oldest unpublished reading",
            registry=registry,
        )
        self.outbox_commits = Counter(
            "careedge_edge_outbox_commits_total",
            "Outbox transactions written for device messages; messages arriving together share one",
            registry=registry,
        )
        self.in_flight = Gauge(
            "careedge_edge_mqtt_in_flight", "QoS 1 messages awaiting PUBACK", registry=registry
        )
        self.published = Counter(
            "careedge_edge_published_total", "Readings acknowledged by the broker", registry=registry
        )
        self.publish_refused = Counter(
            "careedge_edge_publish_refused_total",
            "PUBACKs with a failure reason code",
            ["reason"],
            registry=registry,
        )
        self.config_bundles = Counter(
            "careedge_edge_config_bundles_total",
            "Signed config bundles offered to the gateway, by result and reason of rejection",
            ["result", "reason"],
            registry=registry,
        )
        self.mqtt_connected = Gauge(
            "careedge_edge_mqtt_connected", "1 while connected to the broker", registry=registry
        )
