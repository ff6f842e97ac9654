"""Screening kiosks that send each finished measurement as HL7 v2 ORU^R01 over MLLP on a serial line.

The kiosk waits for our ACK before it sends the next message and resends when none comes in time
(its own timeout, ``DeviceConfig.ack_timeout_s``). So:
- a reading is answered only when the edge says it is stored (``accept``: AA) or refused
  (``reject``: AE); the driver reads nothing more from the port meanwhile;
- a message the codec refuses is answered AE by the driver itself when it has a control ID, and
  not at all otherwise (the kiosk resends a garbled frame on its own);
- a partial frame when the port goes away is dropped: without our ACK the kiosk resends it.
A resend after a lost ACK arrives again with the same ``source_ref`` (control ID); the edge
recognises it by its content.

Every refused input is counted through ``on_rejected`` by reason: the ``Reason`` codes of the
codec, the MLLP framing codes (``mllp_noise``, ``mllp_truncated``, ``mllp_oversize``),
``mllp_partial`` for a frame cut off by a disconnect, and ``unmapped_code`` for each OBX with a
code the product does not know (the rest of that message is still taken), ``duplicate_code`` for
each OBX whose code already has a value at the same time. Logs name the device,
control ID and reason, never patient data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from careedge_common.config import DeviceConfig
from careedge_common.pseudonym import Pseudonymiser
from drivers.contract import DeviceDisconnected, InboundMessage, Reading, RejectCounter
from drivers.hl7.ack import accept_ack, error_ack
from drivers.hl7.errors import Hl7Error, MessageHeader
from drivers.hl7.mllp import MllpDecoder, MllpFrame, MllpFramingError, frame
from drivers.hl7.oru import parse_oru
from drivers.serial_port import SerialPort

logger = logging.getLogger(__name__)

UNMAPPED_CODE = "unmapped_code"
DUPLICATE_CODE = "duplicate_code"
PARTIAL_FRAME = "mllp_partial"


@dataclass
class _Hl7Message:
    """One message waiting for the edge's verdict; only the first answer reaches the kiosk."""

    readings: tuple[Reading, ...]
    _port: SerialPort
    _header: MessageHeader
    _ack_timeout_s: float
    _received: float = field(default_factory=time.monotonic)
    _answered: bool = False

    async def accept(self) -> None:
        await self._answer(accept_ack(self._header), "AA")

    async def reject(self, reason: str) -> None:
        await self._answer(
            error_ack(self._header, reason, "reading not taken by the gateway"), f"AE {reason}"
        )

    async def _answer(self, ack: bytes, what: str) -> None:
        if self._answered:
            return
        self._answered = True
        late = time.monotonic() - self._received
        if late > self._ack_timeout_s:
            logger.warning(
                "%s: %s for %s after %.1f s, past the kiosk's %.1f s timeout: expect a resend",
                self.readings[0].device_id,
                what,
                self._header.control_id,
                late,
                self._ack_timeout_s,
            )
        await self._port.write(frame(ack))


class Hl7KioskDriver:
    """``DeviceDriver`` for one HL7-MLLP kiosk on a serial port (or a pyserial URL)."""

    def __init__(
        self,
        config: DeviceConfig,
        *,
        timezone: ZoneInfo,
        pseudonymiser: Pseudonymiser,
        on_rejected: RejectCounter,
    ) -> None:
        """``timezone`` is the site's zone, for kiosk clocks that send no UTC offset."""
        self.device_id = config.id
        self._config = config
        self._timezone = timezone
        self._pseudonymiser = pseudonymiser
        self._on_rejected = on_rejected
        self._port: SerialPort | None = None

    async def open(self) -> None:
        """Open the port; raise ``DeviceUnavailable`` when it cannot be opened now."""
        await self.close()
        port = SerialPort(self._config.serial_port, self._config.serial)
        await port.open()
        self._port = port

    async def messages(self) -> AsyncIterator[InboundMessage]:
        """Messages as kiosks send them; raises ``DeviceDisconnected`` when the port goes away."""
        port = self._port
        if port is None:
            raise RuntimeError(f"{self.device_id}: messages() before open()")
        decoder = MllpDecoder()
        try:
            while True:
                for event in decoder.feed(await port.read()):
                    if isinstance(event, MllpFramingError):
                        self._reject(event.code, f"{event}")
                        continue
                    inbound = await self._take(port, event)
                    if inbound is not None:
                        yield inbound
        except DeviceDisconnected:
            dropped = decoder.reset()
            if dropped:
                self._reject(PARTIAL_FRAME, f"{dropped} bytes of an unfinished frame dropped on disconnect")
            raise

    async def close(self) -> None:
        """Release the port. Safe to call twice and after a failed open."""
        port, self._port = self._port, None
        if port is not None:
            await port.close()

    async def _take(self, port: SerialPort, received: MllpFrame) -> _Hl7Message | None:
        try:
            message = parse_oru(received.payload, timezone=self._timezone, pseudonymiser=self._pseudonymiser)
        except Hl7Error as exc:
            self._reject(exc.reason, f"message {exc.control_id or '(no control ID, not answered)'}: {exc}")
            if exc.header is not None:
                await port.write(frame(error_ack(exc.header, exc.reason, exc.text, position=exc.position)))
            return None
        for unmapped in message.unmapped:
            self._reject(
                UNMAPPED_CODE,
                f"message {message.control_id}: {unmapped.position} code {unmapped.code!r} "
                f"({unmapped.system or 'no coding system'}) left out",
                level=logging.INFO,
            )
        for position in message.duplicates:
            self._reject(
                DUPLICATE_CODE,
                f"message {message.control_id}: {position} repeats a code already measured at that time",
                level=logging.INFO,
            )
        readings = tuple(
            Reading(
                device_id=self.device_id,
                measured_at=timed.measured_at,
                subject=message.subject,
                observations=timed.observations,
                source_ref=message.control_id,
            )
            for timed in message.readings
        )
        return _Hl7Message(readings, port, message.header, self._config.ack_timeout_s)

    def _reject(self, reason: str, text: str, level: int = logging.WARNING) -> None:
        logger.log(level, "%s: rejected (%s): %s", self.device_id, reason, text)
        self._on_rejected(reason)
