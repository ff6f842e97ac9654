"""One call that puts access control on an app: the guard, the body cap and the audit hook."""

from __future__ import annotations

from fastapi import FastAPI

from careedge_common.access.guard import AccessGuard
from careedge_common.access.middleware import AuditHook, AuditRequests, BodyLimit
from careedge_common.access.tokens import TokenBook, TokenBooks, TokenFile
from careedge_common.config_access import AccessSettings


def token_book(settings: AccessSettings, *more: TokenBook) -> TokenBook | None:
    """The tokens file of ``settings`` (if any) and ``more`` books, as one; None when there is none."""
    books = [TokenFile(settings.tokens_file), *more] if settings.tokens_file is not None else [*more]
    return TokenBooks(*books) if books else None


def protect(app: FastAPI, guard: AccessGuard, audit: AuditHook | None = None) -> None:
    """Audit sits inside the body cap: a refused oversized body reached no handler to audit."""
    app.state.access = guard
    if audit is not None:
        app.add_middleware(AuditRequests, hook=audit)
    app.add_middleware(BodyLimit, max_bytes=guard.settings.max_body_bytes)
