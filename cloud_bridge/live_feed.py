"""Server-sent events for the dashboard: alert transitions and stored readings, as they commit.

The alert service calls ``on_transition`` and ``on_readings`` on the writer's thread (or an API
thread); each connected browser has its own bounded queue on the server's event loop. A browser
that falls ``MAX_QUEUED`` events behind is cut off: its ``EventSource`` reconnects by itself and
the page fetches the whole state again, so nothing is shown stale. ``close`` ends every stream,
so that uvicorn, which waits for open responses when it stops, shuts down at once.

Events: ``alert`` ``{"transition", "alert": alert document}`` and ``reading`` ``{"id",
"subject", "measured_at", "obs": [{code, value, unit}]}`` (bound observations only; only the
pseudonymous subject, as everywhere in the bridge).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from careedge_common.envelope import Envelope, rfc3339
from cloud_bridge.alert import Transition

log = logging.getLogger(__name__)

MAX_QUEUED = 500
KEEPALIVE_S = 15.0
"""A comment line this often: proxies keep the stream open and a gone browser is noticed."""
RECONNECT_MS = 2000
END = None


@dataclass(eq=False)
class _Listener:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(MAX_QUEUED + 1))

    def offer(self, item: str | None) -> None:
        """On the listener's loop. A full queue is emptied and ended: the browser reconnects."""
        if item is not END and self.queue.qsize() < MAX_QUEUED:
            self.queue.put_nowait(item)
            return
        if item is not END:
            while not self.queue.empty():
                self.queue.get_nowait()
        self.queue.put_nowait(END)


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


class LiveFeed:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: set[_Listener] = set()
        self._closed = False

    def on_transition(self, transition: Transition) -> None:
        if not self._listeners:
            return
        self.publish(
            sse("alert", {"transition": transition.kind, "alert": transition.alert.model_dump(mode="json")})
        )

    def on_readings(self, envelopes: Sequence[Envelope]) -> None:
        """Nothing to build when no browser is watching (a set's truth is read atomically)."""
        if not self._listeners:
            return
        for envelope in envelopes:
            if envelope.type == "observation" and envelope.subject is not None and envelope.obs:
                obs = [{"code": o.code, "value": o.value, "unit": o.unit} for o in envelope.obs]
                document = {
                    "id": envelope.id,
                    "subject": envelope.subject,
                    "measured_at": rfc3339(envelope.measured_at),
                    "obs": obs,
                }
                self.publish(sse("reading", document))

    def publish(self, item: str | None) -> None:
        """From any thread."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener.loop.call_soon_threadsafe(listener.offer, item)
            except RuntimeError:
                log.debug("a live-feed listener's loop is closed; it is leaving")

    def close(self) -> None:
        """End every stream and refuse new ones."""
        with self._lock:
            self._closed = True
        self.publish(END)

    async def stream(self) -> AsyncIterator[str]:
        """The text of one browser's ``text/event-stream`` response, until ``close``."""
        listener = _Listener(asyncio.get_running_loop())
        with self._lock:
            if self._closed:
                return
            self._listeners.add(listener)
        try:
            yield f"retry: {RECONNECT_MS}\n: connected\n\n"
            while True:
                try:
                    async with asyncio.timeout(KEEPALIVE_S):
                        item = await listener.queue.get()
                except TimeoutError:
                    item = ": keep-alive\n\n"
                if item is END:
                    return
                yield item
        finally:
            with self._lock:
                self._listeners.discard(listener)
