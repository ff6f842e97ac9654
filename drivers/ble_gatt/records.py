"""Fetching a glucose meter's stored records through the Record Access Control Point.

Sequence numbers make the download safe to repeat. The driver asks for records with a sequence
number above the last one the edge has stored (``RecordBook.resume_point``); the first time, for
all of them. The edge stores each record before the driver takes the next from the link, so when
the link drops mid-transfer (or the edge refuses a record, or the meter stalls) the next
connection asks again from the last stored record: nothing is stored twice and nothing is
skipped. A record the meter sends unreadable is counted and skipped; asking again would return
the same bytes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field

from drivers.ble.errors import BleDecodeError
from drivers.ble.glucose import decode_glucose
from drivers.ble_gatt.errors import GattFailed, LinkLost, RacpRefused, RacpTimeout
from drivers.ble_gatt.link import GattLink, LinkDown, Notification
from drivers.ble_gatt.policy import BlePolicy
from drivers.ble_gatt.profiles import GLUCOSE_MEASUREMENT_UUID16
from drivers.ble_gatt.racp import (
    MAX_SEQUENCE_NUMBER,
    RACP_UUID16,
    RacpRequest,
    RecordCount,
    ResponseCode,
    abort,
    decode_response,
    encode_request,
    report_all,
    report_from,
    report_last,
)

logger = logging.getLogger(__name__)

LastStoredSequence = Callable[[str], int | None]
"""Meter address -> highest sequence number of its records durably stored by the edge, or None."""
_DONE = (ResponseCode.SUCCESS, ResponseCode.NO_RECORDS_FOUND)


@dataclass
class RecordBook:
    """What the driver knows about each meter's records, between connections."""

    last_stored: LastStoredSequence
    skipped: dict[str, int] = field(default_factory=dict)
    """Highest sequence number per meter that was skipped on purpose (no usable value), so that
    it is not fetched and counted again on every connection (this process only)."""

    def resume_point(self, address: str) -> int | None:
        """The first sequence number to ask for; None to ask for all records (first download, or
        the last number stored is the highest a uint16 holds)."""
        known = [
            number for number in (self.last_stored(address), self.skipped.get(address)) if number is not None
        ]
        if not known or max(known) >= MAX_SEQUENCE_NUMBER:
            return None
        return max(known) + 1


class RecordAccess:
    """The RACP procedures on one connection; the link must already deliver 0x2A18 and 0x2A52."""

    def __init__(self, link: GattLink, policy: BlePolicy, skip: Callable[[str, str], None]) -> None:
        """``skip(reason, text)`` counts an unreadable RACP response before ``RacpRefused`` is raised."""
        self._link = link
        self._policy = policy
        self._skip = skip

    async def last_sequence(self) -> int | None:
        """The sequence number of the meter's newest record; None when it holds none."""
        await self._request(report_last())
        last = None
        async for notification in self._until_done():
            try:
                last = decode_glucose(notification.data).sequence_number
            except BleDecodeError as exc:
                logger.warning("%s: last record unreadable: %s", self._link.address, exc)
        return last

    async def transfer(self, start: int | None) -> AsyncGenerator[Notification, None]:
        """Each record notification, from ``start`` (None: all records) until the meter's response."""
        logger.info(
            "%s: fetching glucose records %s",
            self._link.address,
            "(all)" if start is None else f"from {start}",
        )
        await self._request(report_all() if start is None else report_from(start))
        async for notification in self._until_done():
            yield notification

    async def abort(self) -> None:
        """Ask the meter to stop sending; best effort, the connection is closed next anyway."""
        try:
            await self._link.write(RACP_UUID16, encode_request(abort()))
        except GattFailed as exc:
            logger.debug("%s: abort: %s", self._link.address, exc)

    async def _request(self, request: RacpRequest) -> None:
        try:
            await self._link.write(RACP_UUID16, encode_request(request))
        except GattFailed as exc:
            raise RacpRefused(
                f"{self._link.address}: RACP request {request.op_code.name} refused: {exc}"
            ) from exc

    async def _until_done(self) -> AsyncGenerator[Notification, None]:
        address = self._link.address
        while True:
            try:
                event = await self._link.next_event(self._policy.racp_timeout_s)
            except TimeoutError:
                raise RacpTimeout(
                    f"{address}: no record and no RACP response for {self._policy.racp_timeout_s:g} s"
                ) from None
            if isinstance(event, LinkDown):
                raise LinkLost(f"{address}: link lost during a record transfer")
            if event.uuid16 == GLUCOSE_MEASUREMENT_UUID16:
                yield event
            elif event.uuid16 == RACP_UUID16:
                try:
                    response = decode_response(event.data)
                except BleDecodeError as exc:
                    self._skip(exc.reason, f"{address} RACP response: {exc}")
                    raise RacpRefused(f"{address}: unreadable RACP response: {exc}") from exc
                if isinstance(response, RecordCount) or response.code not in _DONE:
                    raise RacpRefused(f"{address}: unexpected RACP response {response}")
                return
