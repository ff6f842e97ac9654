"""The edge API's access guard and the audit rows of its state-changing requests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from careedge_common.access.app import token_book
from careedge_common.access.guard import AccessGuard
from careedge_common.access.middleware import AuditHook
from careedge_common.access.roles import Actor
from careedge_common.access.tokens import TokenBook
from careedge_common.config_access import AccessSettings
from edge.audit import AuditEntry, AuditLog
from edge.metrics import EdgeMetrics


def edge_guard(settings: AccessSettings, metrics: EdgeMetrics, *more: TokenBook) -> AccessGuard:
    """``more``: token books beside the tokens file (the pharmacists' in the edge database)."""
    return AccessGuard(token_book(settings, *more), settings, metrics.registry)


def audit_requests(audit: AuditLog, clock: Callable[[], datetime]) -> AuditHook:
    """Rows go through the log's own connection, on the daemon's loop like every other writer."""

    def record(actor: Actor, method: str, path: str, status: int) -> None:
        audit.record(AuditEntry("api_request", clock(), actor.label, reason=f"{method} {path} {status}"))

    return record
