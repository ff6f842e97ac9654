"""The alert lifecycle: findings become alerts, and alerts move raised → acknowledged → resolved.

- One open alert per scope and condition: a finding for a condition that is already open adds
  its reading IDs (``repeated``), or turns the alert red (``worsened``, which needs a fresh
  acknowledgement); it never opens a second alert.
- A clear finding resolves the open alert (the rules applied the hysteresis), unless it was
  measured before the reading that last raised the alert (a replayed old reading).
- A red alert not acknowledged within ``escalation`` is escalated to the next routes, again
  after each further ``escalation``, until the chain of routes ends.
- Staff acknowledge and resolve by hand, named by ``actor``.

Every step is stored as a transition with the reading IDs that caused it, and queued for its
webhook routes in the same transaction. Time comes from the caller (``now``), never the clock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from careedge_common.codes import BY_CODE
from careedge_common.envelope import new_event_id
from cloud_bridge import alert_store, webhook_queue
from cloud_bridge.alert import SEVERITY_RANK, Alert, Finding, Transition, TransitionKind
from cloud_bridge.alert_store import AlertClosed
from cloud_bridge.open_alerts import OpenAlerts
from cloud_bridge.routing import Router

AUTOMATIC = None
"""The actor of transitions the bridge makes itself."""


class Lifecycle:
    def __init__(self, site: str, escalation: timedelta, router: Router) -> None:
        self._site = site
        self._escalation = escalation
        self._router = router
        self._open = OpenAlerts()

    def begin(self, db: sqlite3.Connection, scopes: Collection[str]) -> None:
        """Before ``apply`` in each transaction, with the scopes of the findings to come."""
        self._open.begin(db, scopes)

    def forget(self) -> None:
        """A transaction that stored transitions did not commit."""
        self._open.forget()

    def apply(self, db: sqlite3.Connection, finding: Finding, now: datetime) -> Transition | None:
        current = self._open.get(db, finding.scope, finding.condition)
        if finding.severity is None:
            if current is None or _older(finding, current):
                return None
            update = {"state": "resolved", "resolved_at": now, "resolved_by": "auto"}
            return self._step(db, current, "resolved", now, AUTOMATIC, finding.reading_ids, update)
        if current is None:
            if finding.once and alert_store.any_alert(db, finding.scope, finding.condition):
                return None
            return self._step(db, self._new(finding, now), "raised", now, AUTOMATIC, finding.reading_ids, {})
        reading_ids = _merged(current.reading_ids, finding.reading_ids)
        later: dict[str, Any] = {"reading_ids": reading_ids}
        if finding.measured_at is not None and not _older(finding, current):
            later["measured_at"] = finding.measured_at
        if SEVERITY_RANK[finding.severity] > SEVERITY_RANK[current.severity]:
            worse = {
                **later,
                **_facts(finding),
                "state": "raised",
                "severity": finding.severity,
                "acknowledged_at": None,
                "acknowledged_by": None,
            }
            return self._step(db, current, "worsened", now, AUTOMATIC, finding.reading_ids, worse)
        return self._step(db, current, "repeated", now, AUTOMATIC, finding.reading_ids, later)

    def acknowledge(
        self, db: sqlite3.Connection, alert_id: str, actor: str, now: datetime
    ) -> Transition | None:
        """None when it was already acknowledged (acknowledging twice changes nothing).
        Raises ``AlertNotFound``, or ``AlertClosed`` for a resolved alert."""
        current = alert_store.get_alert(db, alert_id)
        if current.state == "resolved":
            raise AlertClosed(alert_id)
        if current.state == "acknowledged":
            return None
        update = {"state": "acknowledged", "acknowledged_at": now, "acknowledged_by": actor}
        return self._step(db, current, "acknowledged", now, actor, (), update)

    def resolve(self, db: sqlite3.Connection, alert_id: str, actor: str, now: datetime) -> Transition:
        """Raises ``AlertNotFound``, or ``AlertClosed`` when it is resolved already."""
        current = alert_store.get_alert(db, alert_id)
        if current.state == "resolved":
            raise AlertClosed(alert_id)
        update = {"state": "resolved", "resolved_at": now, "resolved_by": actor}
        return self._step(db, current, "resolved", now, actor, (), update)

    def escalate_due(self, db: sqlite3.Connection, now: datetime) -> list[Transition]:
        done: list[Transition] = []
        for current in alert_store.due_for_escalation(db, now):
            level = current.escalation_level + 1
            if level > self._router.max_level or not self._router.level(current, level):
                alert_store.stop_escalation(db, current.id)
                continue
            done.append(self._step(db, current, "escalated", now, AUTOMATIC, (), {"escalation_level": level}))
        return done

    def _new(self, finding: Finding, now: datetime) -> Alert:
        return Alert(
            id=new_event_id(),
            site=self._site,
            scope=finding.scope,
            subject=finding.subject,
            gateway=finding.gateway,
            device=finding.device,
            category=finding.category,
            condition=finding.condition,
            severity=finding.severity or "yellow",
            reading_id=finding.reading_ids[0] if finding.reading_ids else None,
            reading_ids=list(finding.reading_ids),
            measured_at=_stored(finding.measured_at),
            raised_at=as_stored(now),
            updated_at=as_stored(now),
            historical=finding.historical,
            **_facts(finding),
        )

    def _step(
        self,
        db: sqlite3.Connection,
        current: Alert,
        kind: TransitionKind,
        now: datetime,
        actor: str | None,
        reading_ids: tuple[str, ...],
        update: dict[str, Any],
    ) -> Transition:
        stamped = {**update, "transition": kind, "updated_at": now}
        changed = current.model_copy(update={key: _stored(value) for key, value in stamped.items()})
        routes = self._router.routes_for(changed, kind)
        if routes:
            changed = changed.model_copy(update={"routes": list(dict.fromkeys([*changed.routes, *routes]))})
        transition = Transition(kind, changed, now, actor, reading_ids, routes, changed.model_dump_json())
        transition_id = alert_store.save(db, transition, self._escalate_at(changed, kind, now))
        webhook_queue.enqueue(db, transition, transition_id, now)
        self._open.put(changed)
        return transition

    def _escalate_at(self, changed: Alert, kind: TransitionKind, now: datetime) -> datetime | None:
        """When an unacknowledged red alert is next escalated; None when it is not waiting.
        A repeat keeps the time already set (``alert_store.save``)."""
        if changed.state != "raised" or changed.severity != "red" or kind == "repeated":
            return None
        return now + self._escalation


def as_stored(moment: datetime) -> datetime:
    """The time as an alert's stored document keeps it (RFC 3339 to the millisecond): an alert in
    memory then equals the one read back, so what the lifecycle keeps of it between batches
    (``OpenAlerts``) judges later findings as the table would."""
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def _stored(value: Any) -> Any:
    return as_stored(value) if isinstance(value, datetime) else value


def _older(finding: Finding, current: Alert) -> bool:
    return (
        finding.measured_at is not None
        and current.measured_at is not None
        and finding.measured_at < current.measured_at
    )


def _merged(existing: list[str], more: tuple[str, ...]) -> list[str]:
    merged = list(dict.fromkeys([*existing, *more]))
    return merged[-alert_store.MAX_READING_IDS :]


def _facts(finding: Finding) -> dict[str, Any]:
    """What the alert says about the finding that raised or worsened it."""
    return {
        "title": finding.title,
        "code": finding.code,
        "name": BY_CODE[finding.code].name if finding.code in BY_CODE else None,
        "value": finding.value,
        "unit": finding.unit,
        "limit": finding.limit,
        "direction": finding.direction,
        "detail": finding.detail,
    }
