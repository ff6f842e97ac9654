"""One request queue per bus or device (DESIGN §4): a command goes ahead of routine polling.

A bus carries one request at a time, so every request to a device goes through its queue and one
worker task sends them in order of priority, then of arrival. A dispense command issued while a
poll cycle is queued is sent before the next poll, never behind it; a poll already on the wire
finishes first (a Modbus request cannot be interrupted).
"""

from __future__ import annotations

import asyncio
import enum
import itertools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Priority(enum.IntEnum):
    """Lower runs first."""

    COMMAND = 0
    """Unlocks, mailbox commands, verified writes: someone is waiting at the cabinet."""
    POLL = 1
    """Routine reads of sensors, counts and temperatures."""


_Job = tuple[Callable[[], Awaitable[Any]], "asyncio.Future[Any]"]


class RequestQueue:
    """``start`` the worker inside the event loop that will submit work; ``stop`` cancels it and
    fails whatever is still queued with ``asyncio.CancelledError``."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._queue: asyncio.PriorityQueue[tuple[int, int, _Job]] = asyncio.PriorityQueue()
        self._arrival = itertools.count()
        self._worker: asyncio.Task[None] | None = None
        self._stopping = False
        self.served: list[Priority] = []
        """Priorities in the order jobs ran, newest last (bounded), for tests and diagnostics."""

    def start(self) -> None:
        self._stopping = False
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(
                self._run(), name=f"modbus-queue-{self._name}"
            )

    async def stop(self) -> None:
        worker, self._worker = self._worker, None
        self._stopping = True
        if worker is not None:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        while not self._queue.empty():
            _, _, (_, future) = self._queue.get_nowait()
            future.cancel()

    async def submit(self, priority: Priority, job: Callable[[], Awaitable[T]]) -> T:
        """Run ``job`` when its turn comes and return (or raise) what it does."""
        if self._worker is None:
            raise RuntimeError(f"request queue {self._name} is not running")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((int(priority), next(self._arrival), (job, future)))
        return await future

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def _run(self) -> None:
        while not self._stopping:
            priority, _, (job, future) = await self._queue.get()
            if future.cancelled():
                continue
            self._record(Priority(priority))
            try:
                result = await job()
            except asyncio.CancelledError:
                future.cancel()
                raise
            except Exception as exc:
                if not future.cancelled():
                    future.set_exception(exc)
            else:
                if not future.cancelled():
                    future.set_result(result)

    def _record(self, priority: Priority) -> None:
        self.served.append(priority)
        if len(self.served) > SERVED_KEPT:
            del self.served[: len(self.served) - SERVED_KEPT]


SERVED_KEPT = 256
