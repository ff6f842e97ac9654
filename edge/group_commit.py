"""Readings from many devices share one outbox commit, so one fsync acknowledges them all.

With ``synchronous=FULL`` every commit waits for the disk (a few milliseconds here), and the event
loop waits with it: one commit per device message capped a gateway at a few hundred messages a
second however many kiosks it served. Here the device tasks that have a message ready in the
same turn of the event loop queue their appends; the first one schedules a single commit for the
next turn, which stores the whole group in one transaction (``Outbox.add_group``) and then wakes
each task with its own result. The order of the promise does not change: a task hears "stored"
only after the commit that holds its readings, and only then acknowledges its device.

There is no timer: a lone reading is committed in the very next turn of the loop, so a quiet
gateway answers as fast as before, and a group grows only with what arrived while the previous
commit was on disk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client import Counter

from edge.outbox import Append, Builder, Companion, Outbox, OutboxEntry, OutboxError


@dataclass(frozen=True, slots=True)
class _Waiting:
    append: Append
    result: asyncio.Future[list[OutboxEntry]]


class GroupCommit:
    """The one writer of device readings to the outbox; used from the event loop's thread only."""

    def __init__(self, outbox: Outbox, commits: Counter) -> None:
        """``commits`` counts the transactions that stored device messages (one per group)."""
        self._outbox = outbox
        self._commits = commits
        self._queued: list[_Waiting] = []

    async def add_many(
        self, items: Sequence[tuple[Builder, str | None]], also: Companion | None = None
    ) -> list[OutboxEntry]:
        """``Outbox.add_many`` for one device message, committed together with the other devices'
        messages of the same loop turn. Returns once the commit is on disk; raises ``OutboxFull``
        or ``OutboxError`` when this message was refused (others in the group may be stored).

        A caller cancelled while waiting may still see its readings committed: it never
        acknowledged them, so the device resends and the outbox recognises the resend.
        """
        loop = asyncio.get_running_loop()
        waiting = _Waiting(Append(items, also), loop.create_future())
        self._queued.append(waiting)
        if len(self._queued) == 1:
            loop.call_soon(self._commit)
        return await waiting.result

    def _commit(self) -> None:
        group, self._queued = self._queued, []
        try:
            results = self._outbox.add_group([waiting.append for waiting in group])
        except Exception as exc:
            for waiting in group:
                if not waiting.result.done():
                    waiting.result.set_exception(exc)
            return
        self._commits.inc()
        for waiting, result in zip(group, results, strict=True):
            if waiting.result.done():
                continue
            if isinstance(result, OutboxError):
                waiting.result.set_exception(result)
            else:
                waiting.result.set_result(result)
