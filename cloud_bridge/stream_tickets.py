"""Single-use tickets for the dashboard's event stream.

A browser's ``EventSource`` cannot send an ``Authorization`` header, and a long-lived API token in a
URL ends up in access logs. So a nurse's page asks for a ticket with its token (``POST
/events/ticket``) and opens ``/events?ticket=…``: the ticket works once, within a minute, and is
worthless in a log afterwards.
"""

from __future__ import annotations

import secrets
import threading
import time

TICKET_TTL_S = 60.0
MAX_OUTSTANDING = 1000
"""Unused tickets kept at most; the oldest go first (a page asks for one per connection)."""


class StreamTickets:
    def __init__(self, ttl_s: float = TICKET_TTL_S) -> None:
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}

    def issue(self) -> str:
        ticket = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            self._expiry = {key: due for key, due in self._expiry.items() if due > now}
            while len(self._expiry) >= MAX_OUTSTANDING:
                del self._expiry[next(iter(self._expiry))]
            self._expiry[ticket] = now + self._ttl_s
        return ticket

    def redeem(self, ticket: str) -> bool:
        """True once for a ticket issued less than the TTL ago."""
        with self._lock:
            due = self._expiry.pop(ticket, None)
        return due is not None and due > time.monotonic()
