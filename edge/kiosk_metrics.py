"""Prometheus metrics of sessions, binding and the kiosk page, in the daemon's registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class KioskMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.identifications = Counter(
            "careedge_edge_identifications_total",
            "Cards or codes presented, by outcome (started, continued, unknown)",
            ["outcome"],
            registry=registry,
        )
        self.sessions_ended = Counter(
            "careedge_edge_sessions_ended_total",
            "Kiosk sessions ended, by reason",
            ["reason"],
            registry=registry,
        )
        self.readings_bound = Counter(
            "careedge_edge_readings_bound_total",
            "Readings given a subject by the kiosk session their measurement time falls in",
            ["device"],
            registry=registry,
        )
        self.readings_unbound = Counter(
            "careedge_edge_readings_unbound_total",
            "Readings stored without a subject for staff to assign, by reason",
            ["device", "reason"],
            registry=registry,
        )
        self.unbound_waiting = Gauge(
            "careedge_edge_unbound_waiting", "Unbound readings not yet assigned by staff", registry=registry
        )
        self.assignments = Counter(
            "careedge_edge_assignments_total",
            "Unbound readings assigned by staff (assigned, reassigned)",
            ["event"],
            registry=registry,
        )
        self.nurse_calls = Counter(
            "careedge_edge_nurse_calls_total", "Call-nurse envelopes stored for publishing", registry=registry
        )
        self.audit_failures = Counter(
            "careedge_edge_audit_failures_total",
            "Session events that could not be written to the audit log",
            registry=registry,
        )
