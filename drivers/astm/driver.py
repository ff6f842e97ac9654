"""Point-of-care analyzers (glucose meters, lipid analyzers, urine strip readers) that send results
with ASTM E1394 records over the E1381 low-level protocol on a serial line.

The gateway is only a receiver (``link``): it answers ENQ and frames, and never sends ENQ itself.
One E1394 message (H ... L) becomes one ``InboundMessage``; its readings are grouped by resident and
time. The durability point is the frame that completes the L record: it is answered only when the
edge has decided, ``accept`` with ACK, ``reject`` with NAK (the analyzer retransmits that frame and
the message is offered again; after six refusals the analyzer ends with EOT and keeps the results
for a later transmission), and with NAK when the edge has not decided within
``LinkTimeouts.verdict_s``, well inside the analyzer's 15 s wait.

A message whose content cannot be used (structure errors, every result left out) is answered ACK by
the driver itself: the analyzer would send the same bytes again, and a refusal would block its
queue. Every refusal is counted through ``on_rejected`` by reason: the ``LinkReason`` codes of the
link, and the ``Reason`` codes of the records (per message for structure errors, per result
otherwise). Logs name the device, the analyzer (H-5) and positions, never patient data.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

from careedge_common.config import SerialSettings
from careedge_common.pseudonym import Pseudonymiser
from drivers.astm.errors import AstmError, LinkReason, Reason
from drivers.astm.link import (
    STANDARD_TIMEOUTS,
    AstmReceiver,
    LinkPhase,
    LinkProblem,
    LinkTimeouts,
    MessageReceived,
    TransmissionEnded,
    TransmissionStarted,
)
from drivers.astm.message import parse_message
from drivers.astm.vocabulary import Analytes
from drivers.contract import DeviceDisconnected, InboundMessage, Reading, RejectCounter
from drivers.serial_port import SerialPort

logger = logging.getLogger(__name__)

UNNAMED_SENDER = "astm"
"""``source_ref`` when the analyzer leaves H-5 empty."""
QUIET_REASONS = frozenset(
    {
        LinkReason.DUPLICATE_FRAME,
        LinkReason.LINE_NOISE,
        Reason.NON_NUMERIC,
        Reason.UNMAPPED_CODE,
        Reason.QUALITY_CONTROL,
        Reason.NOT_FINAL,
        Reason.QUERY_IGNORED,
        Reason.DUPLICATE_CODE,
    }
)
"""Recovered by the protocol, or part of an analyzer's normal output (a urine strip reads ``NEG`` on
most pads): logged at INFO. Everything else, a result beyond the measuring range included, at WARNING."""


class _HeldFrame:
    """The answer to the frame that completed a message; the first of accept, reject or the
    verdict deadline decides it."""

    def __init__(
        self, driver: AstmAnalyzerDriver, receiver: AstmReceiver, port: SerialPort, hold: int
    ) -> None:
        self._driver = driver
        self._receiver = receiver
        self._port = port
        self._hold = hold
        self._timer = asyncio.get_running_loop().create_task(self._expire())

    async def answer(self, accepted: bool) -> bool:
        """Send ACK (``accepted``) or NAK; False when the deadline already answered NAK."""
        self._timer.cancel()
        now = asyncio.get_running_loop().time()
        done = self._receiver.accept(self._hold, now) if accepted else self._receiver.reject(self._hold, now)
        if done:
            await _send(self._port, self._receiver)
        return done

    def cancel(self) -> None:
        self._timer.cancel()

    async def _expire(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = self._receiver.deadline
        if deadline is not None:
            await asyncio.sleep(max(deadline - loop.time(), 0.0))
        for problem in self._receiver.expire(loop.time()):
            if isinstance(problem, LinkProblem):
                self._driver.count(problem.reason, problem.detail)
        try:
            await _send(self._port, self._receiver)
        except DeviceDisconnected:
            logger.info("%s: port gone before the overdue NAK could be sent", self._driver.device_id)


class _AstmMessage:
    """One E1394 message waiting for the edge's verdict."""

    def __init__(self, readings: tuple[Reading, ...], held: _HeldFrame) -> None:
        self.readings = readings
        self._held = held

    async def accept(self) -> None:
        if not await self._held.answer(accepted=True):
            logger.warning(
                "%s: message from %s stored after its verdict deadline: the analyzer will send it again",
                self.readings[0].device_id,
                self.readings[0].source_ref,
            )

    async def reject(self, reason: str) -> None:
        if await self._held.answer(accepted=False):
            logger.info(
                "%s: message from %s not taken (%s): NAK, the analyzer retransmits",
                self.readings[0].device_id,
                self.readings[0].source_ref,
                reason,
            )


class AstmAnalyzerDriver:
    """``DeviceDriver`` for one ASTM E1381/E1394 analyzer on a serial port (or a pyserial URL).

    ``timezone`` is the site's zone for the analyzer's clock. ``analytes`` picks the table for the
    analyzer's own test codes. ``patient_id_authority`` is the assigning authority pseudonyms of
    P-3/P-4 are keyed with (the facility name the site's HL7 kiosks send in PID-3.4, so one
    resident has one subject). ``timeouts`` are the standard's unless a test shrinks them.
    """

    def __init__(
        self,
        *,
        device_id: str,
        port: str,
        serial: SerialSettings,
        timezone: ZoneInfo,
        pseudonymiser: Pseudonymiser,
        on_rejected: RejectCounter,
        analytes: Analytes = Analytes.BLOOD,
        patient_id_authority: str | None = None,
        timeouts: LinkTimeouts = STANDARD_TIMEOUTS,
    ) -> None:
        self.device_id = device_id
        self._port_name = port
        self._serial = serial
        self._timezone = timezone
        self._pseudonymiser = pseudonymiser
        self._on_rejected = on_rejected
        self._analytes = analytes
        self._authority = patient_id_authority
        self._timeouts = timeouts
        self._port: SerialPort | None = None
        self._held: _HeldFrame | None = None

    async def open(self) -> None:
        """Open the port; raise ``DeviceUnavailable`` when it cannot be opened now."""
        await self.close()
        port = SerialPort(self._port_name, self._serial)
        await port.open()
        self._port = port

    async def messages(self) -> AsyncIterator[InboundMessage]:
        """Messages as analyzers send them; raises ``DeviceDisconnected`` when the port goes away."""
        port = self._port
        if port is None:
            raise RuntimeError(f"{self.device_id}: messages() before open()")
        receiver = AstmReceiver(self._timeouts)
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await port.read()
                events = receiver.receive(data, loop.time())
                await _send(port, receiver)
                for event in events:
                    if isinstance(event, LinkProblem):
                        self.count(event.reason, event.detail)
                    elif isinstance(event, MessageReceived):
                        inbound = await self._take(event, receiver, port)
                        if inbound is not None:
                            yield inbound
                    elif isinstance(event, TransmissionStarted | TransmissionEnded):
                        logger.debug("%s: %s", self.device_id, type(event).__name__)
        except DeviceDisconnected:
            if receiver.phase is not LinkPhase.NEUTRAL:
                self.count(LinkReason.PARTIAL_TRANSMISSION, "port went away during a transmission")
            raise

    async def close(self) -> None:
        """Release the port. Safe to call twice and after a failed open."""
        held, self._held = self._held, None
        if held is not None:
            held.cancel()
        port, self._port = self._port, None
        if port is not None:
            await port.close()

    def count(self, reason: str, text: str) -> None:
        """Count and log one refused input."""
        level = logging.INFO if reason in QUIET_REASONS else logging.WARNING
        logger.log(level, "%s: rejected (%s): %s", self.device_id, reason, text)
        self._on_rejected(reason)

    async def _take(
        self, received: MessageReceived, receiver: AstmReceiver, port: SerialPort
    ) -> _AstmMessage | None:
        try:
            message = parse_message(
                received.records,
                timezone=self._timezone,
                pseudonymiser=self._pseudonymiser,
                analytes=self._analytes,
                patient_id_authority=self._authority,
            )
        except AstmError as exc:
            self.count(exc.reason, f"message of {len(received.records)} records left out: {exc}")
            await self._acknowledge(received, receiver, port)
            return None
        sender = message.sender or UNNAMED_SENDER
        for skipped in message.skipped:
            self.count(skipped.reason, f"{sender}: {skipped}")
        if not message.readings:
            await self._acknowledge(received, receiver, port)
            return None
        readings = tuple(
            Reading(
                device_id=self.device_id,
                measured_at=reading.measured_at,
                subject=reading.subject,
                observations=reading.observations,
                source_ref=sender,
            )
            for reading in message.readings
        )
        self._held = _HeldFrame(self, receiver, port, received.hold)
        return _AstmMessage(readings, self._held)

    async def _acknowledge(self, received: MessageReceived, receiver: AstmReceiver, port: SerialPort) -> None:
        if receiver.accept(received.hold, asyncio.get_running_loop().time()):
            await _send(port, receiver)


async def _send(port: SerialPort, receiver: AstmReceiver) -> None:
    reply = receiver.data_to_send()
    if reply:
        await port.write(reply)
