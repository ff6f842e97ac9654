"""Nurses' side of dispensing on the edge's local API: the doses, and the confirmation that the
resident is standing at the cabinet (which lets the drawer be released), or that they declined.
Every route needs a ``nurse`` token (``careedge_common.access``).

``POST /cabinet/doses/{dose_id}/confirm`` ``{"staff": ...}`` is idempotent: a repeat answers with
the dose as it stands. Handlers are async: they run on the daemon's loop, which owns SQLite.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from careedge_common.access.guard import require
from edge.audit import staff_actor
from edge.cabinet_commands import dose_document
from edge.dispensing import DispenseWorkflow
from edge.dose_store import DoseStore
from edge.outbox import OutboxError

MAX_LIST = 500


class StaffRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    staff: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")


def cabinet_router(workflow: DispenseWorkflow, store: DoseStore) -> APIRouter:
    router = APIRouter(prefix="/cabinet", dependencies=[require("nurse")])

    @router.get("/doses")
    async def get_doses(limit: int = Query(default=100, ge=1, le=MAX_LIST)) -> dict[str, Any]:
        return {"doses": [dose_document(dose) for dose in store.recent(limit)]}

    @router.post("/doses/{dose_id}/confirm")
    async def post_confirm(dose_id: str, request: StaffRequest, response: Response) -> dict[str, Any]:
        dose = workflow.identify(dose_id, staff_actor(request.staff))
        if dose is None:
            response.status_code = 404
            return {"error": "unknown_dose", "detail": f"no dose {dose_id}"}
        return dose_document(dose)

    @router.post("/doses/{dose_id}/refuse")
    async def post_refuse(dose_id: str, request: StaffRequest, response: Response) -> dict[str, Any]:
        try:
            dose = workflow.refuse(dose_id, staff_actor(request.staff))
        except OutboxError as exc:
            response.status_code = 503
            return {"error": "storage", "detail": str(exc)}
        if dose is None:
            response.status_code = 404
            return {"error": "unknown_dose", "detail": f"no dose {dose_id}"}
        return dose_document(dose)

    return router
