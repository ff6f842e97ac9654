"""The ``require(role, ...)`` dependency: a bearer token of one of the roles, or no handler runs.

The guard lives on ``app.state.access`` so that route modules need only ``Depends(require(...))``
and no extra constructor argument. ``admin`` passes every check. A client (by address) that sends
too many missing or unknown tokens within the window gets 429 until the window has moved on, so
tokens cannot be guessed at line speed.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry, Counter

from careedge_common.access.roles import ADMIN, Actor, Role
from careedge_common.access.tokens import TokenBook
from careedge_common.config_access import AccessSettings

BEARER = HTTPBearer(auto_error=False, description="An API token from `careedge token create`.")
UNAUTHENTICATED = {"WWW-Authenticate": "Bearer"}


class FailureLimiter:
    """Counts token failures per client in a sliding window (monotonic seconds)."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._window_s = window_s
        self._clock = clock
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)

    def blocked_for(self, client: str) -> float:
        """Seconds until ``client`` may try again; 0 when it may now."""
        failures = self._failures.get(client)
        if failures is None:
            return 0.0
        now = self._clock()
        while failures and failures[0] <= now - self._window_s:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return 0.0
        return failures[0] + self._window_s - now if len(failures) >= self._limit else 0.0

    def failed(self, client: str) -> None:
        self._failures[client].append(self._clock())


class AccessGuard:
    def __init__(
        self,
        book: TokenBook | None,
        settings: AccessSettings,
        registry: CollectorRegistry,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._book = book
        self._limiter = FailureLimiter(settings.max_failures, settings.failure_window_s, clock)
        self._refused = Counter(
            "careedge_api_refused", "API requests refused by access control", ["reason"], registry=registry
        )

    def authenticate(self, client: str, token: str | None) -> Actor:
        """The token's actor; raises ``HTTPException`` 429 or 401."""
        wait = self._limiter.blocked_for(client)
        if wait > 0:
            self._refused.labels("rate_limited").inc()
            retry = {"Retry-After": str(int(wait) + 1)}
            raise HTTPException(429, "too many failed token checks", headers=retry)
        actor = self._book.actor(token) if self._book is not None and token else None
        if actor is None:
            self._limiter.failed(client)
            self._refused.labels("unauthenticated").inc()
            raise HTTPException(401, "a valid API token (Authorization: Bearer …)", headers=UNAUTHENTICATED)
        return actor

    def authorise(self, actor: Actor, allowed: frozenset[Role]) -> None:
        """Raises ``HTTPException`` 403 unless the actor's role is allowed (``admin`` always is)."""
        if actor.role not in allowed and actor.role != ADMIN:
            self._refused.labels("forbidden").inc()
            raise HTTPException(403, f"role {actor.role} may not do this")


def require(*roles: Role) -> Any:
    """A dependency (a parameter's default or in ``dependencies=[...]``) giving the ``Actor``.

    The actor is on ``request.state`` before the role check, so a refused attempt is audited too."""
    allowed = frozenset(roles)

    async def authorised(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
    ) -> Actor:
        guard: AccessGuard = request.app.state.access
        client = request.client.host if request.client else "unknown"
        actor = guard.authenticate(client, credentials.credentials if credentials else None)
        request.state.actor = actor
        guard.authorise(actor, allowed)
        return actor

    return Depends(authorised)
