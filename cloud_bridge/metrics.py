"""Prometheus metrics of one bridge instance, in its own registry (tests run several bridges)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from cloud_bridge.alert import Severity
from cloud_bridge.validation import REJECT_REASONS

BATCH_SIZE_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10_000, 50_000)
WRITE_SECONDS_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SEVERITIES: tuple[Severity, ...] = ("yellow", "red")


class BridgeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.received = Counter(
            "careedge_bridge_messages_received", "MQTT messages received on vitals topics", registry=registry
        )
        self.rejected = Counter(
            "careedge_bridge_rejected", "Messages rejected, by reason", ["reason"], registry=registry
        )
        self.duplicates = Counter(
            "careedge_bridge_duplicates", "Envelopes dropped as already processed", registry=registry
        )
        self.points_written = Counter(
            "careedge_bridge_points_written", "Points stored in the time-series sink", registry=registry
        )
        self.sink_errors = Counter(
            "careedge_bridge_sink_errors", "Failed time-series writes (each is retried)", registry=registry
        )
        self.store_errors = Counter(
            "careedge_bridge_store_errors",
            "Failed relational-store operations (each is retried)",
            registry=registry,
        )
        self.alerts = Counter(
            "careedge_bridge_alerts", "Alerts raised, by severity", ["severity"], registry=registry
        )
        self.transitions = Counter(
            "careedge_bridge_alert_transitions",
            "Alert transitions stored, by kind",
            ["kind"],
            registry=registry,
        )
        self.webhooks = Counter(
            "careedge_bridge_webhooks",
            "Webhook delivery attempts, by outcome (delivered, retried, given_up)",
            ["outcome"],
            registry=registry,
        )
        self.acked = Counter(
            "careedge_bridge_messages_acked", "MQTT messages acknowledged to the broker", registry=registry
        )
        self.batch_size = Histogram(
            "careedge_bridge_batch_size", "Messages per batch", buckets=BATCH_SIZE_BUCKETS, registry=registry
        )
        self.write_seconds = Histogram(
            "careedge_bridge_write_seconds",
            "Duration of one successful time-series write",
            buckets=WRITE_SECONDS_BUCKETS,
            registry=registry,
        )
        self.queue_depth = Gauge(
            "careedge_bridge_queue_depth",
            "Messages received and not yet taken into a batch",
            registry=registry,
        )
        for reason in REJECT_REASONS:
            self.rejected.labels(reason)
        for severity in SEVERITIES:
            self.alerts.labels(severity)
        for outcome in ("delivered", "retried", "given_up"):
            self.webhooks.labels(outcome)

    def watch_queue(self, depth: Callable[[], int]) -> None:
        self.queue_depth.set_function(depth)

    def value(self, name: str, **labels: str) -> float:
        """Current value of a sample, e.g. ``value("careedge_bridge_rejected_total", reason="schema")``."""
        found = self.registry.get_sample_value(name, labels)
        return 0.0 if found is None else found
