"""Connection slots per Bluetooth adapter: one manager shared by every BLE driver of a gateway.

An adapter's controller holds only a few connections at once (often 5 to 7, fewer reliably),
and BlueZ answers one too many with errors that look like a missing device. So every driver asks
this manager for a slot before it connects and gives it back when the connection ends; a device
that cannot get one within the policy's wait is reported ``NoConnectionSlot``. Waiting drivers
are served in the order they asked (``asyncio.Semaphore`` is first come, first served).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from drivers.ble_gatt.errors import NoConnectionSlot


class SlotLease:
    """One taken slot; ``release`` gives it back and is safe to call more than once."""

    def __init__(self, adapter: str, holder: str, give_back: Callable[[SlotLease], None]) -> None:
        self.adapter = adapter
        self.holder = holder
        self._give_back = give_back
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._give_back(self)


class ConnectionSlots:
    def __init__(self, per_adapter: int, limits: Mapping[str, int] | None = None) -> None:
        """``per_adapter`` connections on each adapter unless ``limits`` names that adapter (``hci0``)."""
        for adapter, limit in {"per_adapter": per_adapter, **(limits or {})}.items():
            if limit < 1:
                raise ValueError(f"connection limit of {adapter}: at least 1, found {limit}")
        self._per_adapter = per_adapter
        self._limits = dict(limits or {})
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._holders: dict[str, list[str]] = {}

    def limit(self, adapter: str) -> int:
        return self._limits.get(adapter, self._per_adapter)

    def holders(self, adapter: str) -> tuple[str, ...]:
        """Who holds a slot on ``adapter`` now (device addresses), in the order they got it."""
        return tuple(self._holders.get(adapter, ()))

    async def acquire(self, adapter: str, holder: str, wait_s: float) -> SlotLease:
        """A slot on ``adapter`` for ``holder``; raises ``NoConnectionSlot`` after ``wait_s`` seconds."""
        semaphore = self._semaphores.setdefault(adapter, asyncio.Semaphore(self.limit(adapter)))
        try:
            async with asyncio.timeout(wait_s):
                await semaphore.acquire()
        except TimeoutError:
            taken = ", ".join(self.holders(adapter))
            raise NoConnectionSlot(
                f"{holder}: all {self.limit(adapter)} connection slots of {adapter} stayed taken "
                f"for {wait_s:g} s (by {taken})"
            ) from None
        self._holders.setdefault(adapter, []).append(holder)
        return SlotLease(adapter, holder, self._give_back)

    def _give_back(self, lease: SlotLease) -> None:
        self._holders[lease.adapter].remove(lease.holder)
        self._semaphores[lease.adapter].release()
