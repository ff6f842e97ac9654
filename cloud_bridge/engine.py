"""The alert engine: every rule, run inside the caller's store transaction, through the lifecycle.

Three ways in: a batch of fresh envelopes (readings, calls, cabinet events), a gateway's state
document, and a periodic ``tick`` for what only time can reveal (a missed daily measurement, a
gateway offline past its grace period, a red alert nobody acknowledged). Each returns the
transitions it stored, for the caller to publish after the commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from careedge_common.config import AlertsConfig, SiteInfo
from careedge_common.config_alerts import AlertRules
from careedge_common.envelope import Envelope
from cloud_bridge import alert_store, device_seen, news2
from cloud_bridge.alert import Finding, Transition
from cloud_bridge.events import EventRule, GatewayState, offline_finding
from cloud_bridge.history import History
from cloud_bridge.lifecycle import Lifecycle
from cloud_bridge.news2_rule import News2Rule, describe
from cloud_bridge.reading_windows import ReadingWindows
from cloud_bridge.routing import Router
from cloud_bridge.rules import ThresholdRules
from cloud_bridge.schedule import ExpectedRule
from cloud_bridge.trends import TrendRule

NEWS2_CODES = frozenset(news2.CODE_OF.values())


class AlertEngine:
    def __init__(self, site: SiteInfo, alerts: AlertsConfig) -> None:
        rules = alerts.rules
        self._rules = rules
        self.router = Router(rules)
        self.lifecycle = Lifecycle(site.id, timedelta(minutes=rules.escalation_minutes), self.router)
        self.thresholds = ThresholdRules(alerts.thresholds, rules)
        self._news2 = News2Rule(rules)
        self._trends = TrendRule(rules.trends)
        self._events = EventRule(rules.events, rules.offline)
        self._expected = ExpectedRule(rules, ZoneInfo(site.timezone))
        self._retention = timedelta(days=rules.readings_retention_days)
        self._windows = ReadingWindows(longest_window_ms(rules))

    def on_envelopes(
        self, db: sqlite3.Connection, envelopes: Sequence[Envelope], now: datetime
    ) -> list[Transition]:
        """Store the residents' readings, then evaluate each envelope against them.

        Rules over a resident's recent readings (NEWS2, trends) run once per batch and resident, at
        the newest envelope that carries their codes: within a batch (at most ``batch_wait_ms``),
        a score or trend at an earlier reading of the same resident would be outdated at once.
        """
        self._windows.begin(db)
        alert_store.insert_readings(db, envelopes)
        self._windows.add(envelopes)
        device_seen.record_envelopes(db, envelopes)
        history = self._windows
        findings = [finding for envelope in envelopes for finding in self._single(envelope)]
        newest = newest_per_resident_and_code(envelopes)
        for (_, code), envelope in newest.items():
            if code in self._trends.codes:
                findings.extend(self._trends.evaluate(envelope, history, code))
        if self._rules.news2.enabled:
            for envelope in newest_of(newest, NEWS2_CODES):
                findings.extend(self._news2_findings(db, envelope, history))
        return self._apply(db, findings, now)

    def on_state(self, db: sqlite3.Connection, state: GatewayState, now: datetime) -> list[Transition]:
        alert_store.set_gateway_online(db, state.gateway, state.online, now)
        device_seen.record_state(db, state)
        return self._apply(db, self._events.gateway_findings(state), now)

    def tick(self, db: sqlite3.Connection, now: datetime) -> list[Transition]:
        findings = self._offline_past_grace(db, now)
        if self._expected.configured:
            today = alert_store.last_measured(db, self._expected.start_of_day(now))
            subjects = alert_store.known_subjects(db, now - self._retention)
            findings.extend(self._expected.missed(now, subjects, today))
        return [*self._apply(db, findings, now), *self.lifecycle.escalate_due(db, now)]

    def prune(self, db: sqlite3.Connection, now: datetime) -> int:
        self._windows.forget()
        return alert_store.prune_readings(db, now - self._retention)

    def forget(self) -> None:
        """What the engine keeps between batches may include a transaction that did not commit."""
        self._windows.forget()
        self.lifecycle.forget()

    def _single(self, envelope: Envelope) -> list[Finding]:
        """Rules that need the envelope alone."""
        if envelope.type != "observation":
            return self._events.evaluate(envelope)
        return [*self.thresholds.evaluate(envelope), *self._expected.taken(envelope)]

    def _news2_findings(self, db: sqlite3.Connection, envelope: Envelope, history: History) -> list[Finding]:
        assert envelope.subject is not None
        result, reading_ids = self._news2.score(envelope, history)
        score = {**describe(result), "reading_ids": list(reading_ids)}
        alert_store.put_score(db, envelope.subject, envelope.measured_at, score)
        finding = self._news2.finding(envelope, result, reading_ids)
        return [] if finding is None else [finding]

    def _offline_past_grace(self, db: sqlite3.Connection, now: datetime) -> list[Finding]:
        offline = self._rules.offline
        if not offline.enabled:
            return []
        gateways = alert_store.offline_unalerted(db, now - timedelta(seconds=offline.grace_s))
        for gateway in gateways:
            alert_store.mark_offline_alerted(db, gateway)
        return [offline_finding(gateway, None, offline.severity) for gateway in gateways]

    def _apply(self, db: sqlite3.Connection, findings: list[Finding], now: datetime) -> list[Transition]:
        """Through the lifecycle in order."""
        self.lifecycle.begin(db, {finding.scope for finding in findings})
        done: list[Transition] = []
        for finding in findings:
            transition = self.lifecycle.apply(db, finding, now)
            if transition is not None:
                done.append(transition)
        return done


def longest_window_ms(rules: AlertRules) -> int:
    """How far back from a resident's newest reading any rule looks."""
    trends = rules.trends
    longest = max(
        timedelta(minutes=rules.news2.window_minutes),
        timedelta(days=trends.weight_gain.days),
        timedelta(days=trends.systolic_rise.days),
    )
    return longest // timedelta(milliseconds=1) + 1


def newest_per_resident_and_code(envelopes: Iterable[Envelope]) -> dict[tuple[str, str], Envelope]:
    """The latest-measured observation envelope of each resident and code."""
    newest: dict[tuple[str, str], Envelope] = {}
    for envelope in envelopes:
        if envelope.subject is None:
            continue
        for observation in envelope.obs:
            key = (envelope.subject, observation.code)
            current = newest.get(key)
            if current is None or envelope.measured_at_us >= current.measured_at_us:
                newest[key] = envelope
    return newest


def newest_of(newest: dict[tuple[str, str], Envelope], codes: frozenset[str]) -> list[Envelope]:
    """Per resident, the latest of their newest envelopes with one of ``codes``."""
    chosen: dict[str, Envelope] = {}
    for (subject, code), envelope in newest.items():
        if code not in codes:
            continue
        current = chosen.get(subject)
        if current is None or envelope.measured_at_us >= current.measured_at_us:
            chosen[subject] = envelope
    return list(chosen.values())
