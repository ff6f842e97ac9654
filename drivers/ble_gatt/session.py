"""What the driver does on one connection: check the device's clock, subscribe, and turn values into
messages, until the device disconnects, falls idle, or a procedure fails (a typed error).

Order matters. A live device (cuff, thermometer, oximeter, scale, heart rate sensor) gets its
clock set before the driver subscribes, because subscribing is what makes it send measurements
it stored while nobody was connected. A glucose meter sends nothing unasked, so the driver
subscribes first: it needs the meter's last record (RACP) before correcting its clock. Final
measurements are subscribed to last: a device may send what it stored and hang up at once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from drivers.ble.errors import BleDecodeError
from drivers.ble.glucose import GlucoseMeasurement
from drivers.ble_gatt.clock import (
    UNCHECKED,
    ClockCheck,
    ClockMemory,
    RecordClock,
    clock_offset,
    live_measured_at,
    record_measured_at,
    wall_clock,
)
from drivers.ble_gatt.current_time import (
    CURRENT_TIME_UUID16,
    current_time_of,
    decode_current_time,
    encode_current_time,
)
from drivers.ble_gatt.errors import (
    GattFailed,
    IndicationTimeout,
    LinkLost,
    RacpRefused,
    RecordNotStored,
    ServiceMissing,
)
from drivers.ble_gatt.link import GattLink, LinkDown, Notification
from drivers.ble_gatt.policy import BlePolicy
from drivers.ble_gatt.profiles import RECORD_CHARACTERISTICS, Profile, codec
from drivers.ble_gatt.readings import BleMessage, ReadingMaker, glucose_ref, live_ref
from drivers.ble_gatt.records import RecordAccess, RecordBook

logger = logging.getLogger(__name__)


class Session:
    def __init__(
        self,
        link: GattLink,
        profile: Profile,
        *,
        maker: ReadingMaker,
        zone: ZoneInfo,
        policy: BlePolicy,
        clock: Callable[[], datetime],
        memory: ClockMemory,
        book: RecordBook | None,
    ) -> None:
        """``book`` is required for a profile with records; ``memory`` lives as long as the driver."""
        self._link = link
        self._profile = profile
        self._maker = maker
        self._zone = zone
        self._policy = policy
        self._clock = clock
        self._memory = memory
        self._book = book
        self._tolerance = timedelta(seconds=policy.clock_tolerance_s)

    async def run(self) -> AsyncGenerator[BleMessage, None]:
        """Messages until the connection ends normally; raises a ``drivers.ble_gatt.errors`` type
        when it ends in the middle of something."""
        if not self._link.offers_service(self._profile.service_uuid16):
            raise ServiceMissing(f"{self._link.address}: no {self._profile.name} service")
        messages = self._records() if self._profile.records else self._live(await self._check_clock())
        async with aclosing(messages) as each:
            async for message in each:
                yield message

    async def _live(self, check: ClockCheck) -> AsyncGenerator[BleMessage, None]:
        profile, link, address = self._profile, self._link, self._link.address
        offered = [
            uuid16 for uuid16 in profile.progress + profile.continuous + profile.finals if link.offers(uuid16)
        ]
        if not any(uuid16 in offered for uuid16 in profile.values):
            raise ServiceMissing(f"{address}: none of the {profile.name} measurement characteristics")
        await link.subscribe(offered)
        in_progress = False
        sampled: dict[int, datetime] = {}
        while True:
            timeout = self._policy.measurement_timeout_s if in_progress else self._policy.idle_disconnect_s
            try:
                event = await link.next_event(timeout)
            except TimeoutError:
                if in_progress:
                    raise IndicationTimeout(
                        f"{address}: measurement in progress, no final value for {timeout:g} s"
                    ) from None
                logger.info("%s: idle for %g s, disconnecting to free the connection slot", address, timeout)
                return
            if isinstance(event, LinkDown):
                if in_progress:
                    raise LinkLost(f"{address}: link lost during a measurement")
                return
            if event.uuid16 in profile.progress:
                in_progress = True
                continue
            continuous = event.uuid16 in profile.continuous
            if continuous and not self._due(sampled.get(event.uuid16), event.received_at):
                continue
            if not continuous:
                in_progress = False
            message = self._live_message(event, check)
            if message is None:
                continue
            if continuous:
                sampled[event.uuid16] = event.received_at
            yield message
            if message.rejected is not None:
                logger.warning(
                    "%s: %s not stored (%s); BLE cannot ask the device to keep it",
                    address,
                    message.readings[0].source_ref,
                    message.rejected,
                )

    async def _records(self) -> AsyncGenerator[BleMessage, None]:
        link, address, book = self._link, self._link.address, self._book
        if book is None:
            raise ValueError(f"{self._profile.name} needs a RecordBook")
        if not all(link.offers(uuid16) for uuid16 in RECORD_CHARACTERISTICS):
            raise ServiceMissing(f"{address}: no glucose measurement or record access control point")
        await link.subscribe(RECORD_CHARACTERISTICS)
        access = RecordAccess(link, self._policy, self._maker.skip)
        check = await self._check_clock(access)
        async with aclosing(access.transfer(book.resume_point(address))) as records:
            async for notification in records:
                message = self._record_message(notification, check, book)
                if message is None:
                    continue
                yield message
                if message.rejected is not None:
                    await access.abort()
                    raise RecordNotStored(
                        f"{address}: {message.readings[0].source_ref} not stored ({message.rejected}); "
                        "transfer stopped, it resumes from the last stored record"
                    )

    async def _check_clock(self, access: RecordAccess | None = None) -> ClockCheck:
        """Read the device's clock and set it when it is off by more than the tolerance; for a
        glucose meter (``access``), first learn which records the wrong clock stamped."""
        link, address = self._link, self._link.address
        if not link.offers(CURRENT_TIME_UUID16):
            return UNCHECKED
        try:
            shown = decode_current_time(await link.read(CURRENT_TIME_UUID16)).wall_clock
        except GattFailed as exc:
            logger.warning("%s: current time not readable: %s", address, exc)
            return UNCHECKED
        except BleDecodeError as exc:
            self._maker.skip(exc.reason, f"{address} current time: {exc}")
            return UNCHECKED
        offset = None if shown is None else clock_offset(shown, wall_clock(self._clock(), self._zone))
        if offset is not None and abs(offset) <= self._tolerance:
            earlier = None if access is not None else self._memory.live.get(address)
            return ClockCheck(offset) if earlier is None else earlier
        last_on_wrong_clock = None
        if access is not None:
            try:
                last_on_wrong_clock = await access.last_sequence()
            except RacpRefused as exc:
                logger.warning(
                    "%s: clock off by %s, left as it is: which records it stamped is unknown (%s); "
                    "correcting its time stamps",
                    address,
                    _signed(offset),
                    exc,
                )
                return ClockCheck(offset)
        now = wall_clock(self._clock(), self._zone)
        try:
            await link.write(CURRENT_TIME_UUID16, encode_current_time(current_time_of(now)))
        except GattFailed as exc:
            logger.warning(
                "%s: clock off by %s and not settable (%s); correcting its time stamps",
                address,
                _signed(offset),
                exc,
            )
            return ClockCheck(offset)
        logger.info("%s: clock was off by %s; set to the gateway's time", address, _signed(offset))
        check = ClockCheck(offset, corrected_at=now)
        if access is None:
            self._memory.live[address] = check
        elif offset is not None and last_on_wrong_clock is not None:
            self._memory.records[address] = RecordClock(offset, last_on_wrong_clock)
        return check

    def _live_message(self, event: Notification, check: ClockCheck) -> BleMessage | None:
        characteristic = codec(event.uuid16)
        value = self._maker.decode(characteristic, event.data, self._link.address)
        if value is None:
            return None
        measured_at = live_measured_at(
            characteristic.device_time(value), event.received_at, self._zone, check, self._tolerance
        )
        reading = self._maker.reading(
            characteristic, value, measured_at, live_ref(self._link.address, characteristic)
        )
        return None if reading is None else BleMessage((reading,))

    def _record_message(self, event: Notification, check: ClockCheck, book: RecordBook) -> BleMessage | None:
        address = self._link.address
        characteristic = codec(event.uuid16)
        value = self._maker.decode(characteristic, event.data, address)
        if not isinstance(value, GlucoseMeasurement):
            return None
        measured_at = record_measured_at(
            value.device_time,
            value.sequence_number,
            event.received_at,
            self._zone,
            check,
            self._memory.records.get(address),
            self._tolerance,
        )
        reading = self._maker.reading(
            characteristic, value, measured_at, glucose_ref(address, value.sequence_number)
        )
        if reading is None:
            book.skipped[address] = max(value.sequence_number, book.skipped.get(address, 0))
            return None
        return BleMessage((reading,))

    def _due(self, last: datetime | None, now: datetime) -> bool:
        return last is None or (now - last).total_seconds() >= self._policy.continuous_interval_s


def _signed(offset: timedelta | None) -> str:
    """``+5:00:00`` or ``-3:00:00`` (timedelta prints -3 h as ``-1 day, 21:00:00``)."""
    if offset is None:
        return "an unknown date"
    return f"-{-offset}" if offset < timedelta(0) else f"+{offset}"
