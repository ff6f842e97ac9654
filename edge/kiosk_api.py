"""The kiosk page and its calls, served by the edge's local API (``gateway.api``, localhost).

``GET /kiosk`` is one static page (``edge/kiosk/index.html``: HTML, CSS and vanilla JS, no build
step, nothing from the network). It polls ``GET /kiosk/state`` and posts:
- ``POST /kiosk/session`` ``{"code": ...}``: a QR code typed by a USB keyboard-wedge scanner into
  the page. The code is checked like a serial reader's line, pseudonymised at once and dropped;
  it is never logged or echoed back, errors included.
- ``POST /kiosk/logout``, ``POST /kiosk/call`` ("call nurse").
Every call but the page needs a ``resident_kiosk`` token (the page reads it from its address's
fragment, ``/kiosk#token=…``); the calls only ever show the current session's resident.
Handlers are async on purpose: they run on the daemon's loop, the only thread that touches SQLite.
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from careedge_common.access.guard import require
from careedge_common.config import IdCodeFormat
from careedge_common.envelope import rfc3339
from careedge_common.pseudonym import Pseudonymiser
from drivers.id_reader.codec import IdCodeError, parse_line
from edge.audit import PAGE_ACTOR
from edge.calls import NurseCaller
from edge.kiosk_sessions import SessionService
from edge.kiosk_view import KioskView
from edge.outbox import OutboxError

log = logging.getLogger(__name__)

PAGE = "index.html"
MAX_BODY_BYTES = 1024
KIOSK = [require("resident_kiosk")]
NO_STORE = {"Cache-Control": "no-store"}
"""Names and results must not linger in a browser cache."""


def kiosk_router(
    view: KioskView,
    sessions: SessionService,
    caller: NurseCaller,
    pseudonymiser: Pseudonymiser,
    authority: str,
) -> APIRouter:
    router = APIRouter()
    page = resources.files("edge.kiosk").joinpath(PAGE).read_text(encoding="utf-8")
    bare_codes = IdCodeFormat()

    @router.get("/kiosk", response_class=HTMLResponse)
    async def get_page() -> HTMLResponse:
        return HTMLResponse(page, headers=NO_STORE)

    @router.get("/kiosk/state", dependencies=KIOSK)
    async def get_state() -> JSONResponse:
        return JSONResponse(view.state(), headers=NO_STORE)

    @router.post("/kiosk/session", dependencies=KIOSK)
    async def post_session(request: Request) -> JSONResponse:
        """Start (or continue) a session from a scanned code; 200 with the outcome, 400 for a bad body."""
        body = await request.body()
        code = _code_field(body)
        if code is None:
            return JSONResponse({"error": "bad_request", "detail": 'a JSON body {"code": "..."}'}, 400)
        try:
            scanned = parse_line(code.encode(), bare_codes)
        except IdCodeError as exc:
            log.info("kiosk page: code refused (%s at byte %d)", exc.reason, exc.position)
            return JSONResponse({"error": str(exc.reason), "position": exc.position}, 400)
        outcome = sessions.identified(pseudonymiser.subject(scanned.value, authority), PAGE_ACTOR)
        return JSONResponse({"outcome": outcome, "state": view.state()}, headers=NO_STORE)

    @router.post("/kiosk/logout", dependencies=KIOSK)
    async def post_logout() -> JSONResponse:
        ended = sessions.logout(PAGE_ACTOR)
        return JSONResponse({"ended": ended, "state": view.state()}, headers=NO_STORE)

    @router.post("/kiosk/call", dependencies=KIOSK)
    async def post_call(response: Response) -> dict[str, Any]:
        """200 once the call is stored for publishing; 503 when the edge cannot store it."""
        try:
            call = caller.call()
        except OutboxError as exc:
            log.error("nurse call not stored: %s", exc)
            response.status_code = 503
            return {"error": "storage", "detail": "the gateway could not store the call"}
        return {"id": call.envelope_id, "at": rfc3339(call.at), "repeated": call.repeated}

    return router


def _code_field(body: bytes) -> str | None:
    """The ``code`` string of a small JSON object, or None; never echoed anywhere."""
    if len(body) > MAX_BODY_BYTES:
        return None
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    code = document.get("code") if isinstance(document, dict) else None
    return code if isinstance(code, str) else None
