"""The alert side of the bridge as the pipeline and the API use it: commit, act, query, announce.

Transitions are announced only after their transaction committed: published on the site's
alerts topic (all but ``repeated``) and, when they have webhook routes, the dispatcher is woken.
This is the seam for other views of alerts (a dashboard's live feed): ``add_listener``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from careedge_common import topics
from careedge_common.envelope import Envelope
from careedge_common.epoch import epoch_ms
from cloud_bridge import alert_store, cabinet_events, seq_tracking, webhook_queue
from cloud_bridge.alert import SEVERITY_RANK, Alert, Clock, Transition
from cloud_bridge.alert_store import AlertFilter
from cloud_bridge.engine import AlertEngine
from cloud_bridge.events import GatewayState
from cloud_bridge.metrics import BridgeMetrics
from cloud_bridge.seq_tracking import SeqMark
from cloud_bridge.store import BridgeStore, mark_processed

log = logging.getLogger(__name__)

Listener = Callable[[Transition], None]
ReadingsListener = Callable[[Sequence[Envelope]], None]
ALL_OPEN = 100_000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ResidentStatus:
    subject: str
    colour: str
    """The worst of the resident's open alerts and their latest NEWS2 colour."""
    open_alerts: list[Alert]
    news2: dict[str, Any] | None


class AlertService:
    def __init__(
        self,
        site: str,
        store: BridgeStore,
        engine: AlertEngine,
        publish: Callable[[str, bytes], None],
        metrics: BridgeMetrics,
        clock: Clock,
    ) -> None:
        self._store = store
        self._engine = engine
        self._publish = publish
        self._metrics = metrics
        self._topic = topics.alerts(site)
        self._listeners: list[Listener] = []
        self._readings_listeners: list[ReadingsListener] = []
        self.clock = clock

    def add_listener(self, listener: Listener) -> None:
        """Called with every committed transition, on the thread that committed it."""
        self._listeners.append(listener)

    def add_readings_listener(self, listener: ReadingsListener) -> None:
        """Called with the fresh envelopes of every committed batch, after its transitions."""
        self._readings_listeners.append(listener)

    def commit_batch(
        self,
        envelopes: Sequence[Envelope],
        states: Sequence[GatewayState],
        now: datetime,
        seqs: Iterable[SeqMark] = (),
    ) -> int:
        """Mark the envelopes processed (with their gateways' ``seqs``, for the delivery check) and
        evaluate those that were fresh, and the states, in one transaction; announce the
        transitions after it. Returns how many envelopes were fresh. Raises ``sqlite3.Error``
        with nothing committed."""
        with self._store.transaction(self._engine.forget) as db:
            fresh_ids = mark_processed(db, (envelope.id for envelope in envelopes), now)
            seq_tracking.record_seqs(db, seqs, epoch_ms(now))
            fresh = [envelope for envelope in envelopes if envelope.id in fresh_ids]
            cabinet_events.record(db, fresh)
            done = self._engine.on_envelopes(db, fresh, now)
            for state in states:
                done.extend(self._engine.on_state(db, state, now))
        self._announce(done)
        if fresh:
            for listener in self._readings_listeners:
                _call_safely(listener, fresh)
        return len(fresh)

    def tick(self) -> None:
        with self._store.transaction(self._engine.lifecycle.forget) as db:
            done = self._engine.tick(db, self.clock())
        self._announce(done)

    def prune(self) -> int:
        with self._store.transaction() as db:
            return self._engine.prune(db, self.clock())

    def acknowledge(self, alert_id: str, actor: str) -> Alert:
        """Raises ``AlertNotFound`` or ``AlertClosed``."""
        with self._store.transaction(self._engine.lifecycle.forget) as db:
            transition = self._engine.lifecycle.acknowledge(db, alert_id, actor, self.clock())
            current = alert_store.get_alert(db, alert_id)
        self._announce([transition] if transition else [])
        return current

    def resolve(self, alert_id: str, actor: str) -> Alert:
        """Raises ``AlertNotFound`` or ``AlertClosed``."""
        with self._store.transaction(self._engine.lifecycle.forget) as db:
            transition = self._engine.lifecycle.resolve(db, alert_id, actor, self.clock())
        self._announce([transition])
        return transition.alert

    def alerts(self, where: AlertFilter) -> list[Alert]:
        with self._store.reading() as db:
            return alert_store.find_alerts(db, where)

    def alert(self, alert_id: str) -> tuple[Alert, list[dict[str, Any]]]:
        """The alert and its transitions, oldest first. Raises ``AlertNotFound``."""
        with self._store.reading() as db:
            return alert_store.get_alert(db, alert_id), alert_store.transitions(db, alert_id)

    def cabinet_events(self, limit: int) -> list[Envelope]:
        """Stored cabinet events, newest first."""
        with self._store.reading() as db:
            return cabinet_events.newest(db, limit)

    def webhook_counts(self) -> dict[str, int]:
        with self._store.reading() as db:
            return webhook_queue.counts(db)

    def residents(self) -> list[ResidentStatus]:
        """Every resident with a score or an open alert, red first, then yellow, then green."""
        with self._store.reading() as db:
            scores = alert_store.scores(db)
            open_alerts = alert_store.find_alerts(db, AlertFilter(open_only=True, limit=ALL_OPEN))
        by_subject: dict[str, list[Alert]] = {}
        for alert in open_alerts:
            if alert.subject is not None:
                by_subject.setdefault(alert.subject, []).append(alert)
        statuses = [
            ResidentStatus(
                subject,
                _worst([alert.severity for alert in by_subject.get(subject, [])], scores.get(subject)),
                by_subject.get(subject, []),
                scores.get(subject),
            )
            for subject in set(scores) | set(by_subject)
        ]
        return sorted(statuses, key=lambda status: (-SEVERITY_RANK[status.colour], status.subject))

    def _announce(self, transitions: Iterable[Transition]) -> None:
        for transition in transitions:
            self._metrics.transitions.labels(transition.kind).inc()
            if transition.kind == "raised":
                self._metrics.alerts.labels(transition.alert.severity).inc()
            if transition.published:
                self._publish(self._topic, transition.document.encode())
            for listener in self._listeners:
                _call_safely(listener, transition)


def _call_safely(listener: Callable[[T], None], what: T) -> None:
    """A failing view must not undo or hold up what was committed and published."""
    try:
        listener(what)
    except Exception:
        log.exception("a listener failed; what it was told about is stored and published")


def _worst(severities: list[str], score: dict[str, Any] | None) -> str:
    colours = [*severities, score["colour"] if score else "green"]
    return max(colours, key=lambda colour: SEVERITY_RANK[colour])
