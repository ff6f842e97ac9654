"""ID-card and barcode/QR readers on a serial line: codes in, pseudonymous identifications out.

The code is pseudonymised here, as soon as its line is complete, with the site's secret and the
configured assigning authority; only the subject leaves this module. Refused lines are counted
through ``on_rejected`` by ``Reason`` (and ``line_partial`` for a line cut off by a disconnect) and
logged with the device and the position, never the code.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from careedge_common.config import DeviceConfig, IdCodeFormat
from careedge_common.envelope import utc_now
from careedge_common.pseudonym import Pseudonymiser
from drivers.contract import DeviceDisconnected, RejectCounter
from drivers.id_reader.codec import IdCodeError, LineDecoder
from drivers.id_reader.source import Identification
from drivers.serial_port import SerialPort

logger = logging.getLogger(__name__)

PARTIAL_LINE = "line_partial"


class IdReaderDriver:
    """``IdentificationSource`` for one reader on a serial port (or a pyserial URL)."""

    def __init__(
        self,
        config: DeviceConfig,
        *,
        pseudonymiser: Pseudonymiser,
        authority: str,
        on_rejected: RejectCounter,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """``authority`` is combined with each code when pseudonymising (``KioskConfig``);
        ``clock`` returns aware UTC times for ``scanned_at``."""
        self.device_id = config.id
        self._config = config
        self._format = config.id_code or IdCodeFormat()
        self._pseudonymiser = pseudonymiser
        self._authority = authority
        self._on_rejected = on_rejected
        self._clock = clock
        self._port: SerialPort | None = None

    async def open(self) -> None:
        """Open the port; raise ``DeviceUnavailable`` when it cannot be opened now."""
        await self.close()
        port = SerialPort(self._config.serial_port, self._config.serial)
        await port.open()
        self._port = port

    async def identifications(self) -> AsyncIterator[Identification]:
        """One identification per valid line; raises ``DeviceDisconnected`` when the port goes away."""
        port = self._port
        if port is None:
            raise RuntimeError(f"{self.device_id}: identifications() before open()")
        decoder = LineDecoder(self._format)
        try:
            while True:
                for result in decoder.feed(await port.read()):
                    if isinstance(result, IdCodeError):
                        self._reject(result.reason, str(result))
                        continue
                    subject = self._pseudonymiser.subject(result.value, self._authority)
                    yield Identification(self.device_id, subject, self._clock())
        except DeviceDisconnected:
            dropped = decoder.reset()
            if dropped:
                self._reject(PARTIAL_LINE, f"{dropped} bytes of an unfinished line dropped on disconnect")
            raise

    async def close(self) -> None:
        """Release the port. Safe to call twice and after a failed open."""
        port, self._port = self._port, None
        if port is not None:
            await port.close()

    def _reject(self, reason: str, text: str) -> None:
        logger.warning("%s: code refused (%s): %s", self.device_id, reason, text)
        self._on_rejected(reason)
