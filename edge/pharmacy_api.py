"""The pharmacist's routes on the edge's local API, and their page.

``GET /pharmacy`` is the page (no data in it). Everything under ``/pharmacy/api`` needs
``Authorization: Bearer <token>`` of a pharmacist (``careedge pharmacist add`` or ``careedge token
create``; ``careedge_common.access``): 401 without a known token, 403 for another role.
``GET .../inventory`` lists every slot with the cabinet's live count, the recorded lot and
expiry, and flags (``edge.stock``); ``POST .../refills`` ``{"cabinet", "slot"}`` opens a drawer,
``.../refills/{id}/record`` ``{"quantity", "added", "lot", "expiry"}`` records it after the count
check, ``.../refills/{id}/close`` closes it; 503 when the edge database cannot store it. Handlers
are async: they run on the daemon's loop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from datetime import date, datetime
from importlib import resources
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from careedge_common.access.guard import require
from careedge_common.access.roles import Actor
from careedge_common.config_cabinet import CabinetWorkflowSettings
from drivers.contract import DeviceError
from drivers.modbus.cabinet import CabinetSnapshot, ModbusCabinet
from edge.outbox import OutboxError
from edge.refills import Refill, RefillError, RefillProblem, RefillStore, RefillWorkflow, SlotStock
from edge.stock import stock_flags

PAGE = "index.html"
NO_STORE = {"Cache-Control": "no-store"}
PHARMACIST = require("pharmacist")
PROBLEM_STATUS: dict[RefillProblem, int] = {
    "unknown_cabinet": 404,
    "unknown_refill": 404,
    "count_mismatch": 409,
    "drawer_open": 409,
    "closed": 409,
    "cabinet": 503,
}


class OpenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cabinet: str = Field(min_length=1, max_length=64)
    slot: int = Field(ge=1, le=256)


class RecordRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: int = Field(ge=0, le=10_000)
    """Doses now in the slot, as the pharmacist counted them."""
    added: int = Field(ge=0, le=10_000)
    lot: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")
    expiry: date


def pharmacy_router(
    cabinets: Mapping[str, ModbusCabinet],
    refills: RefillStore,
    workflow: RefillWorkflow,
    settings: CabinetWorkflowSettings,
    clock: Callable[[], datetime],
) -> APIRouter:
    router = APIRouter(prefix="/pharmacy")
    page = resources.files("edge.pharmacy").joinpath(PAGE).read_text(encoding="utf-8")

    signed_in = PHARMACIST

    @router.get("", response_class=HTMLResponse)
    async def get_page() -> HTMLResponse:
        return HTMLResponse(page, headers=NO_STORE)

    @router.get("/api/me")
    async def get_me(member: Actor = signed_in) -> dict[str, Any]:
        return {"name": member.name, "role": member.role}

    @router.get("/api/inventory")
    async def get_inventory(member: Actor = signed_in) -> dict[str, Any]:
        stock = refills.stock()
        today = clock().date()
        documents = []
        for cabinet_id, cabinet in cabinets.items():
            try:
                snapshot: CabinetSnapshot | None = await cabinet.poll()
            except DeviceError:
                snapshot = None
            slots = [
                _slot_document(
                    cabinet_id, slot, snapshot, stock.get((cabinet_id, slot)), refills, today, settings
                )
                for slot in range(1, cabinet.profile.slots + 1)
            ]
            documents.append({"id": cabinet_id, "reachable": snapshot is not None, "slots": slots})
        return {"cabinets": documents}

    @router.post("/api/refills")
    async def post_open(
        request: OpenRequest, response: Response, member: Actor = signed_in
    ) -> dict[str, Any]:
        return await _answer(response, workflow.open(request.cabinet, request.slot, member))

    @router.post("/api/refills/{refill_id}/record")
    async def post_record(
        refill_id: int, request: RecordRequest, response: Response, member: Actor = signed_in
    ) -> dict[str, Any]:
        return await _answer(
            response,
            workflow.record(
                refill_id,
                quantity=request.quantity,
                added=request.added,
                lot=request.lot,
                expiry=request.expiry,
                member=member,
            ),
        )

    @router.post("/api/refills/{refill_id}/close")
    async def post_close(refill_id: int, response: Response, member: Actor = signed_in) -> dict[str, Any]:
        return await _answer(response, workflow.close(refill_id, member))

    return router


async def _answer(response: Response, action: Any) -> dict[str, Any]:
    try:
        refill: Refill = await action
    except RefillError as exc:
        response.status_code = PROBLEM_STATUS[exc.problem]
        return {"error": exc.problem, "detail": exc.detail, **exc.facts}
    except (OutboxError, sqlite3.Error) as exc:
        response.status_code = 503
        return {"error": "storage", "detail": str(exc)}
    return _refill_document(refill)


def _refill_document(refill: Refill) -> dict[str, Any]:
    return {
        "refill_id": refill.refill_id,
        "cabinet": refill.cabinet,
        "slot": refill.slot,
        "state": refill.state,
        "count_before": refill.count_before,
        "quantity": refill.quantity,
        "added": refill.added,
        "lot": refill.lot,
        "expiry": refill.expiry.isoformat() if refill.expiry else None,
    }


def _slot_document(
    cabinet_id: str,
    slot: int,
    snapshot: CabinetSnapshot | None,
    stock: SlotStock | None,
    refills: RefillStore,
    today: date,
    settings: CabinetWorkflowSettings,
) -> dict[str, Any]:
    state = snapshot.slot(slot) if snapshot is not None else None
    count = state.count if state is not None else None
    expiry = stock.expiry if stock is not None else None
    open_refill = refills.open_refill(cabinet_id, slot)
    return {
        "slot": slot,
        "count": count,
        "drawer_open": state.drawer_open if state is not None else None,
        "lot": stock.lot if stock is not None else None,
        "expiry": expiry.isoformat() if expiry is not None else None,
        "recorded_by": stock.recorded_by if stock is not None else None,
        "flags": stock_flags(count, expiry, today, settings) if count is not None else [],
        "refill": _refill_document(open_refill) if open_refill is not None else None,
    }
