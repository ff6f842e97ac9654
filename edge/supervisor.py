"""One task per device: open it, store each reading durably, then acknowledge it to the device.

The order inside ``_store`` is the product's core promise (DESIGN §4): the outbox commit happens
before ``accept`` sends the device its ACK (a commit shared with the other devices' messages of
the same moment, ``edge.group_commit``); if the commit fails, or the outbox is full, the device
gets a rejection (HL7 AE, ASTM NAK) and keeps the reading to send again later. Each reading gets
its subject from ``binder`` first (``edge.binding``); a reading left unbound is recorded for staff
in the same transaction. Reconnect timing comes from
``device_policy``; nothing here decides it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
from collections.abc import Callable, Sequence

from drivers.contract import DeviceDisconnected, DeviceDriver, DeviceUnavailable, InboundMessage, Reading
from edge.binding import BoundReading, ReadingBinder
from edge.device_policy import DeviceHealth
from edge.envelopes import EnvelopeFactory
from edge.group_commit import GroupCommit
from edge.metrics import EdgeMetrics
from edge.outbox import Builder, OutboxEntry, OutboxError, OutboxFull

log = logging.getLogger(__name__)

ReadingCompanion = Callable[[sqlite3.Connection, Sequence[Reading]], None]
"""Writes a driver's own rows about the readings (a glucose meter's last stored record) inside the
outbox transaction that stores them."""


class DeviceSupervisor:
    def __init__(
        self,
        driver: DeviceDriver,
        outbox: GroupCommit,
        envelopes: EnvelopeFactory,
        metrics: EdgeMetrics,
        on_stored: Callable[[], None],
        binder: ReadingBinder,
        *,
        session_bound: bool,
        keep: ReadingCompanion | None = None,
    ) -> None:
        """``session_bound``: readings without a subject take the kiosk session's (see ``binding``).
        ``keep`` runs inside the transaction that stores each message's readings (as the device sent
        them), so what it writes is on disk exactly when they are. ``outbox`` is shared by every
        device of the gateway, so that messages arriving together share one commit."""
        self._driver = driver
        self._outbox = outbox
        self._envelopes = envelopes
        self._metrics = metrics
        self._on_stored = on_stored
        self._binder = binder
        self._session_bound = session_bound
        self._keep = keep
        self.health = DeviceHealth()

    @property
    def device_id(self) -> str:
        return self._driver.device_id

    async def run(self) -> None:
        """Keep the device open and drained until cancelled."""
        device = self.device_id
        try:
            while True:
                try:
                    await self._driver.open()
                    self.health.opened()
                    self._metrics.device_up.labels(device=device).set(1)
                    log.info("device %s open", device)
                    async for inbound in self._driver.messages():
                        await self._store(inbound)
                except (DeviceUnavailable, DeviceDisconnected) as exc:
                    self._metrics.device_up.labels(device=device).set(0)
                    await self._driver.close()
                    delay = self.health.next_delay()
                    level = logging.WARNING if self.health.down else logging.INFO
                    log.log(level, "device %s unavailable (%s); retrying in %.1fs", device, exc, delay)
                    self._metrics.device_reconnects.labels(device=device).inc()
                    await asyncio.sleep(delay)
        finally:
            self._metrics.device_up.labels(device=device).set(0)
            await self._driver.close()

    async def _store(self, inbound: InboundMessage) -> None:
        device = self.device_id
        source = inbound.readings[0].source_ref
        bound = [self._binder.bind(reading, by_session=self._session_bound) for reading in inbound.readings]
        try:
            entries = await self._outbox.add_many(
                [
                    (self._builder(decided.reading), reading_fingerprint(reading))
                    for decided, reading in zip(bound, inbound.readings, strict=True)
                ],
                also=lambda db, stored: self._companion(
                    db, inbound.readings, list(zip(bound, stored, strict=True))
                ),
            )
        except OutboxFull as exc:
            log.warning("device %s: message %s refused, the device keeps it: %s", device, source, exc)
            self._metrics.inputs_rejected.labels(device=device, reason="outbox_full").inc()
            await inbound.reject("gateway outbox full")
            return
        except OutboxError as exc:
            log.error("device %s: message %s not stored: %s", device, source, exc)
            self._metrics.inputs_rejected.labels(device=device, reason="storage").inc()
            await inbound.reject("gateway storage unavailable")
            return
        await inbound.accept()
        fresh = [entry for entry in entries if not entry.duplicate]
        if len(fresh) < len(entries):
            self._metrics.inputs_rejected.labels(device=device, reason="resent_duplicate").inc(
                len(entries) - len(fresh)
            )
            log.info(
                "device %s resent %s; %d readings were already stored",
                device,
                source,
                len(entries) - len(fresh),
            )
        self._binder.stored(
            [(decided, entry) for decided, entry in zip(bound, entries, strict=True) if not entry.duplicate]
        )
        if fresh:
            self._metrics.readings_accepted.labels(device=device).inc(len(fresh))
            log.debug("device %s: message %s stored as seq %s", device, source, [e.seq for e in fresh])
            self._on_stored()

    def _companion(
        self,
        db: sqlite3.Connection,
        readings: Sequence[Reading],
        stored: list[tuple[BoundReading, OutboxEntry]],
    ) -> None:
        self._binder.record(db, stored)
        if self._keep is not None:
            self._keep(db, readings)

    def _builder(self, reading: Reading) -> Builder:
        return lambda seq, boot: self._envelopes.observation(reading, seq, boot)


def reading_fingerprint(reading: Reading) -> str:
    """Identity of a reading as the device sent it: a resend matches, a new measurement does not.

    Taken before binding, so a resend is recognised even if the session it fell in has changed.

    The device's message reference alone is not enough (kiosks restart their counters), so the
    time and every value are part of it.
    """
    parts = [reading.device_id, reading.source_ref, reading.measured_at.isoformat(), reading.subject or ""]
    parts.extend(f"{obs.code}={obs.value}{obs.unit}" for obs in reading.observations)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()
