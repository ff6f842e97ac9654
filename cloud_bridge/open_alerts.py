"""The open alerts in memory between batches: the lifecycle's lookup of a finding's open alert
without a query and a parse of its stored document each time.

A batch's findings mostly concern residents whose open alerts the previous batch already read,
and each transition the lifecycle stores is the alert's new document, so this keeps, per scope
it has read, the open alerts by condition: read from the table in one query for the scopes of a
batch it does not hold (``begin``), and kept current with every transition stored (``put``). The
lifecycle keeps an alert's times to the millisecond, as its stored document does, so the alert
kept here equals the one the table would give back.

It is right only while nothing else writes the alerts table, so it is dropped whenever something
else may have: another connection committed since the last batch (a second bridge on the same
store; SQLite's ``data_version`` tells), and a transaction that changed it did not commit
(``forget``). Scopes of unbound readings are one-off (``reading/{id}``), so past ``MAX_SCOPES``
it starts afresh.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection

from cloud_bridge import alert_store
from cloud_bridge.alert import Alert

MAX_SCOPES = 20_000
"""Scopes held before starting afresh: a site's residents, gateways and devices fit many times."""


class OpenAlerts:
    def __init__(self) -> None:
        self._by_scope: dict[str, dict[str, Alert]] = {}
        self._data_version: int | None = None

    def begin(self, db: sqlite3.Connection, scopes: Collection[str]) -> None:
        """Before the lookups of a write transaction (nobody else writes meanwhile): forget
        everything if another connection has committed since the last call, then read the open
        alerts of the ``scopes`` not held, in one query."""
        version = db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version or len(self._by_scope) > MAX_SCOPES:
            self._by_scope.clear()
            self._data_version = version
        missing = [scope for scope in scopes if scope not in self._by_scope]
        for scope in missing:
            self._by_scope[scope] = {}
        for alert in alert_store.open_alerts(db, missing):
            self._by_scope[alert.scope][alert.condition] = alert

    def forget(self) -> None:
        self._by_scope.clear()
        self._data_version = None

    def get(self, db: sqlite3.Connection, scope: str, condition: str) -> Alert | None:
        """A scope ``begin`` was not given is looked up in the table."""
        conditions = self._by_scope.get(scope)
        if conditions is None:
            return alert_store.open_alert(db, scope, condition)
        return conditions.get(condition)

    def put(self, alert: Alert) -> None:
        """``alert`` as just stored; a scope not read yet reads it from the table when needed."""
        conditions = self._by_scope.get(alert.scope)
        if conditions is None:
            return
        if alert.state == "resolved":
            conditions.pop(alert.condition, None)
        else:
            conditions[alert.condition] = alert
