"""One task per ID-card or barcode reader: keep it open and hand each identification to the sessions.

The same device policy as for measuring devices (``edge.device_policy``): reopen with capped
backoff, report down after repeated failures. Nothing is stored or acknowledged here; a reader
sends and forgets, and an identification is not a reading (``drivers.id_reader.source``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from drivers.contract import DeviceDisconnected, DeviceUnavailable
from drivers.id_reader.source import Identification, IdentificationSource
from edge.device_policy import DeviceHealth
from edge.metrics import EdgeMetrics

log = logging.getLogger(__name__)


class ReaderSupervisor:
    def __init__(
        self,
        source: IdentificationSource,
        on_identified: Callable[[Identification], None],
        metrics: EdgeMetrics,
    ) -> None:
        self._source = source
        self._on_identified = on_identified
        self._metrics = metrics
        self.health = DeviceHealth()

    @property
    def device_id(self) -> str:
        return self._source.device_id

    async def run(self) -> None:
        """Keep the reader open and drained until cancelled."""
        device = self.device_id
        try:
            while True:
                try:
                    await self._source.open()
                    self.health.opened()
                    self._metrics.device_up.labels(device=device).set(1)
                    log.info("reader %s open", device)
                    async for identification in self._source.identifications():
                        self._on_identified(identification)
                except (DeviceUnavailable, DeviceDisconnected) as exc:
                    self._metrics.device_up.labels(device=device).set(0)
                    await self._source.close()
                    delay = self.health.next_delay()
                    level = logging.WARNING if self.health.down else logging.INFO
                    log.log(level, "reader %s unavailable (%s); retrying in %.1fs", device, exc, delay)
                    self._metrics.device_reconnects.labels(device=device).inc()
                    await asyncio.sleep(delay)
        finally:
            self._metrics.device_up.labels(device=device).set(0)
            await self._source.close()
