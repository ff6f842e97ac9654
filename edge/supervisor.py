"""One task per device: open it, store each reading durably, then acknowledge it to the device.

The order inside ``_store`` is the product's core promise (DESIGN §4): the outbox commit happens
before ``accept`` sends the device its ACK; if the commit fails the device gets a rejection and
keeps the reading. Reconnect timing comes from ``device_policy``; nothing here decides it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable

from drivers.contract import DeviceDisconnected, DeviceDriver, DeviceUnavailable, InboundReading, Reading
from edge.device_policy import DeviceHealth
from edge.envelopes import EnvelopeFactory
from edge.metrics import EdgeMetrics
from edge.outbox import Outbox, OutboxError

log = logging.getLogger(__name__)


class DeviceSupervisor:
    def __init__(
        self,
        driver: DeviceDriver,
        outbox: Outbox,
        envelopes: EnvelopeFactory,
        metrics: EdgeMetrics,
        on_stored: Callable[[], None],
    ) -> None:
        self._driver = driver
        self._outbox = outbox
        self._envelopes = envelopes
        self._metrics = metrics
        self._on_stored = on_stored
        self.health = DeviceHealth()

    @property
    def device_id(self) -> str:
        return self._driver.device_id

    async def run(self) -> None:
        """Keep the device open and drained until cancelled."""
        device = self.device_id
        try:
            while True:
                opened_at = time.monotonic()
                try:
                    await self._driver.open()
                    self._metrics.device_up.labels(device=device).set(1)
                    log.info("device %s open", device)
                    async for inbound in self._driver.readings():
                        await self._store(inbound)
                except (DeviceUnavailable, DeviceDisconnected) as exc:
                    self._metrics.device_up.labels(device=device).set(0)
                    await self._driver.close()
                    self.health.connection_ended(time.monotonic() - opened_at)
                    delay = self.health.next_delay()
                    level = logging.WARNING if self.health.down else logging.INFO
                    log.log(level, "device %s unavailable (%s); retrying in %.1fs", device, exc, delay)
                    self._metrics.device_reconnects.labels(device=device).inc()
                    await asyncio.sleep(delay)
        finally:
            self._metrics.device_up.labels(device=device).set(0)
            await self._driver.close()

    async def _store(self, inbound: InboundReading) -> None:
        reading = inbound.reading
        try:
            entry = self._outbox.add(
                lambda seq, boot: self._envelopes.observation(reading, seq, boot),
                reading_fingerprint(reading),
            )
        except OutboxError as exc:
            log.error("device %s: reading %s not stored: %s", reading.device_id, reading.source_ref, exc)
            self._metrics.inputs_rejected.labels(device=reading.device_id, reason="storage").inc()
            await inbound.reject("gateway storage unavailable")
            return
        await inbound.accept()
        if entry.duplicate:
            self._metrics.inputs_rejected.labels(device=reading.device_id, reason="resent_duplicate").inc()
            log.info(
                "device %s resent %s, already stored as seq %d",
                reading.device_id,
                reading.source_ref,
                entry.seq,
            )
            return
        self._metrics.readings_accepted.labels(device=reading.device_id).inc()
        log.debug("device %s: reading %s stored as seq %d", reading.device_id, reading.source_ref, entry.seq)
        self._on_stored()


def reading_fingerprint(reading: Reading) -> str:
    """Identity of a reading as the device sent it: a resend matches, a new measurement does not.

    The device's message reference alone is not enough (kiosks restart their counters), so the
    time and every value are part of it.
    """
    parts = [reading.device_id, reading.source_ref, reading.measured_at.isoformat(), reading.subject or ""]
    parts.extend(f"{obs.code}={obs.value}{obs.unit}" for obs in reading.observations)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()
