"""BLE health devices (Bluetooth SIG GATT profiles) on bleak: the ``DeviceDriver`` of one device.

``open`` starts a scanner filtered by the profile's service UUID; ``messages`` waits for one of
the allowed addresses to advertise, takes a connection slot on the adapter (``ConnectionSlots``,
shared by every BLE driver of the gateway), connects with bleak-retry-connector, and runs one
``Session``: clock check and correction (Current Time Service), subscriptions, and each final
measurement as a message of one reading; for a glucose meter, the stored records it has not yet
handed over (Record Access Control Point). When the device disconnects or falls idle, the slot is
given back and the driver waits for the next advertisement. Anything that breaks a connection in
the middle of a measurement or transfer ends ``messages`` with a typed error
(``drivers.ble_gatt.errors``), and the edge's supervisor backs off and opens the driver again.

Durability: BLE has no application-level acknowledgement, so ``accept`` cannot tell the device
anything; what the edge has stored when it asks for the next message is what is kept. For live
values a reading the gateway loses after the operating system confirmed the indication is lost
(devices that keep unsent measurements resend those they could not deliver). Glucose records
are safe to fetch again: the driver asks for records after ``last_glucose_sequence(address)``,
which the edge answers from its database (see ``drivers/ble_gatt/README.md``).

Bluetooth addresses are not patient data and appear in logs; values and user numbers do not.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Collection
from contextlib import aclosing
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bleak import BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import BaseBleakScanner

from drivers.ble_gatt.advertisements import AdvertisementWatch
from drivers.ble_gatt.clock import ClockMemory
from drivers.ble_gatt.errors import AdapterUnavailable
from drivers.ble_gatt.link import GATT_ERRORS, GattLink
from drivers.ble_gatt.policy import DEFAULT_BLE_POLICY, BlePolicy
from drivers.ble_gatt.profiles import PROFILES
from drivers.ble_gatt.readings import BleMessage, ReadingMaker, SubjectForUser
from drivers.ble_gatt.records import LastStoredSequence, RecordBook
from drivers.ble_gatt.session import Session
from drivers.ble_gatt.slots import ConnectionSlots, SlotLease
from drivers.contract import InboundMessage, RejectCounter

logger = logging.getLogger(__name__)

DEFAULT_ADAPTER = "hci0"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class BleHealthDriver:
    """``DeviceDriver`` for one BLE health device (or interchangeable ones: ``addresses``)."""

    def __init__(
        self,
        *,
        device_id: str,
        profile: str,
        addresses: Collection[str],
        timezone: ZoneInfo,
        on_rejected: RejectCounter,
        slots: ConnectionSlots,
        adapter: str = DEFAULT_ADAPTER,
        last_glucose_sequence: LastStoredSequence | None = None,
        subject_for_user: SubjectForUser | None = None,
        policy: BlePolicy = DEFAULT_BLE_POLICY,
        client_backend: type[BaseBleakClient] | None = None,
        scanner_backend: type[BaseBleakScanner] | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        """
        ``profile`` is a key of ``PROFILES``; ``addresses`` the allowlist (at least one; connected
        one at a time). ``timezone`` is the site's zone, in which device clocks are read and set.
        ``last_glucose_sequence`` is required for ``glucose_meter``. ``subject_for_user`` maps a
        cuff's or scale's user number to a subject (``DeviceConfig.subject_for_user``). The backends
        default to bleak's for the platform; the simulator (``firmware_sim.ble``) passes its own.
        ``clock`` gives the aware receive time. Raises ``ValueError`` for an unusable combination.
        """
        if profile not in PROFILES:
            raise ValueError(f"{device_id}: profile one of {', '.join(PROFILES)}, found {profile!r}")
        if not addresses:
            raise ValueError(f"{device_id}: at least one allowed address")
        self.device_id = device_id
        self._profile = PROFILES[profile]
        self._memory = ClockMemory()
        self._book: RecordBook | None = None
        if self._profile.records:
            if last_glucose_sequence is None:
                raise ValueError(f"{device_id}: a {profile} needs last_glucose_sequence")
            self._book = RecordBook(last_glucose_sequence)
        self._addresses = tuple(addresses)
        self._adapter = adapter
        self._timezone = timezone
        self._slots = slots
        self._maker = ReadingMaker(device_id, on_rejected, subject_for_user)
        self._policy = policy
        self._client_backend = client_backend
        self._scanner_backend = scanner_backend
        self._clock = clock
        self._scanner: BleakScanner | None = None
        self._watch: AdvertisementWatch | None = None
        self._lease: SlotLease | None = None
        self._link: GattLink | None = None

    async def open(self) -> None:
        """Start scanning; raises ``AdapterUnavailable`` when the adapter cannot scan."""
        await self.close()
        watch = AdvertisementWatch(self._addresses)
        try:
            scanner = BleakScanner(
                watch.heard,
                [self._profile.service_uuid],
                backend=self._scanner_backend,
                bluez={"adapter": self._adapter},
            )
            await scanner.start()
        except (*GATT_ERRORS, OSError) as exc:
            raise AdapterUnavailable(f"{self.device_id}: cannot scan on {self._adapter}: {exc}") from exc
        self._scanner, self._watch = scanner, watch

    async def messages(self) -> AsyncIterator[InboundMessage]:
        """One message per reading, connection after connection; raises a ``DeviceUnavailable`` or
        ``DeviceDisconnected`` subclass of ``drivers.ble_gatt.errors`` when a connection fails."""
        watch = self._watch
        if watch is None:
            raise RuntimeError(f"{self.device_id}: messages() before open()")
        while True:
            device = await watch.next()
            try:
                async with aclosing(self._session(device)) as messages:
                    async for message in messages:
                        yield message
            finally:
                await self._end_session()
                watch.ended(device.address)

    async def close(self) -> None:
        """Disconnect, give the slot back and stop scanning. Safe to call twice and after a failed open."""
        await self._end_session()
        scanner, self._scanner, self._watch = self._scanner, None, None
        if scanner is not None:
            try:
                await scanner.stop()
            except (*GATT_ERRORS, OSError) as exc:
                logger.debug("%s: stopping the scanner: %s", self.device_id, exc)

    async def _session(self, device: BLEDevice) -> AsyncGenerator[BleMessage, None]:
        self._lease = await self._slots.acquire(self._adapter, device.address, self._policy.slot_wait_s)
        self._link = await GattLink.connect(
            device,
            adapter=self._adapter,
            client_backend=self._client_backend,
            policy=self._policy,
            clock=self._clock,
        )
        logger.info("%s: connected to %s on %s", self.device_id, device.address, self._adapter)
        session = Session(
            self._link,
            self._profile,
            maker=self._maker,
            zone=self._timezone,
            policy=self._policy,
            clock=self._clock,
            memory=self._memory,
            book=self._book,
        )
        async with aclosing(session.run()) as messages:
            async for message in messages:
                yield message
        logger.info("%s: %s done", self.device_id, device.address)

    async def _end_session(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            await link.close()
        lease, self._lease = self._lease, None
        if lease is not None:
            lease.release()
