"""The staff's side of binding on the edge's local API (localhost): residents, unbound readings,
assignment and the audit log.

``GET /residents`` lists the roster's subjects with their display names, so staff (and technicians
filling a cuff's ``user_map``) can pick a resident; like the kiosk page, it never leaves the edge.
``POST /unbound/{reading_id}/assign`` ``{"subject": ..., "staff": ...}`` publishes a correction
(``edge.assignment``). Every route needs a ``nurse`` or ``technician`` token. Handlers are
async: they run on the daemon's loop, which owns SQLite.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from careedge_common.access.guard import require
from careedge_common.config import SUBJECT_PATTERN
from careedge_common.envelope import rfc3339
from edge.assignment import Assigner, AssignmentError, AssignmentRefusal
from edge.audit import AuditEntry, AuditLog
from edge.outbox import OutboxError
from edge.residents import Roster
from edge.unbound import UnboundReading, UnboundStore

REFUSAL_STATUS: dict[AssignmentRefusal, int] = {
    "unknown_reading": 404,
    "unknown_subject": 422,
    "already_assigned": 409,
}
MAX_LIST = 1000


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(pattern=SUBJECT_PATTERN)
    staff: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")
    """Who assigns (a staff name or number); recorded in the audit log as ``staff:<name>``."""


def staff_router(roster: Roster, unbound: UnboundStore, audit: AuditLog, assigner: Assigner) -> APIRouter:
    router = APIRouter(dependencies=[require("nurse", "technician")])

    @router.get("/residents")
    async def get_residents() -> dict[str, Any]:
        return {"residents": [{"subject": e.subject, "display_name": e.display_name} for e in roster]}

    @router.get("/unbound")
    async def get_unbound(
        include_assigned: bool = False, limit: int = Query(default=100, ge=1, le=MAX_LIST)
    ) -> dict[str, Any]:
        """Unbound readings, newest measurement first; assigned ones too with ``include_assigned``."""
        readings = unbound.list(include_assigned=include_assigned, limit=limit)
        return {"readings": [_unbound_document(reading) for reading in readings]}

    @router.post("/unbound/{reading_id}/assign")
    async def post_assign(reading_id: str, request: AssignRequest, response: Response) -> dict[str, Any]:
        try:
            done = assigner.assign(reading_id, request.subject, request.staff)
        except AssignmentError as exc:
            response.status_code = REFUSAL_STATUS[exc.reason]
            return {"error": exc.reason, "detail": exc.detail}
        except OutboxError as exc:
            response.status_code = 503
            return {"error": "storage", "detail": str(exc)}
        return {
            "reading_id": done.reading_id,
            "envelope_id": done.envelope_id,
            "subject": done.subject,
            "previous_subject": done.previous_subject,
            "event": done.event,
        }

    @router.get("/audit")
    async def get_audit(
        limit: int = Query(default=100, ge=1, le=MAX_LIST), reading_id: str | None = None
    ) -> dict[str, Any]:
        return {"entries": [_audit_document(entry) for entry in audit.entries(limit, reading_id)]}

    return router


def _unbound_document(reading: UnboundReading) -> dict[str, Any]:
    return {
        "reading_id": reading.reading_id,
        "device": reading.device,
        "measured_at": rfc3339(reading.measured_at),
        "recorded_at": rfc3339(reading.recorded_at),
        "reason": reading.reason,
        "obs": [obs.model_dump(mode="json") for obs in reading.envelope.obs],
        "latest_id": reading.latest_id,
        "subject": reading.subject,
        "assigned_at": rfc3339(reading.assigned_at) if reading.assigned_at else None,
        "assigned_by": reading.assigned_by,
    }


def _audit_document(entry: AuditEntry) -> dict[str, Any]:
    return {
        "event": entry.event,
        "at": rfc3339(entry.at),
        "actor": entry.actor,
        "session_id": entry.session_id,
        "subject": entry.subject,
        "previous_subject": entry.previous_subject,
        "reading_id": entry.reading_id,
        "envelope_id": entry.envelope_id,
        "reason": entry.reason,
        "detail": entry.detail,
    }
