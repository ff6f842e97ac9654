"""ASGI middleware of the APIs: a body-size cap (413) and an audit hook for state-changing requests.

Both are plain ASGI so that they wrap every route, those of routers merged later included, and
refuse an oversized body before any handler (or FastAPI's JSON parsing) buffers it.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from careedge_common.access.roles import Actor

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
AuditHook = Callable[[Actor, str, str, int], None]
"""Called with (actor, method, path, status) after an authenticated state-changing request."""


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self._app = app
        self._max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self._max_bytes:
            await _too_large(send, self._max_bytes)
            return
        received = 0

        async def counting_receive() -> Message:
            """A body streamed without a length is cut off where it passes the cap; the
            exception reaches FastAPI's handler for HTTP errors whoever was reading."""
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self._max_bytes:
                raise HTTPException(413, _too_large_detail(self._max_bytes))
            return message

        await self._app(scope, counting_receive, send)


class AuditRequests:
    def __init__(self, app: ASGIApp, hook: AuditHook) -> None:
        self._app = app
        self._hook = hook

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in STATE_CHANGING:
            await self._app(scope, receive, send)
            return
        status = 500

        async def status_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, status_send)
        finally:
            actor = scope.get("state", {}).get("actor")
            if isinstance(actor, Actor):
                self._hook(actor, scope["method"], scope["path"], status)


async def _too_large(send: Send, max_bytes: int) -> None:
    body = json.dumps({"detail": _too_large_detail(max_bytes)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _too_large_detail(max_bytes: int) -> str:
    return f"request body larger than {max_bytes} bytes"
