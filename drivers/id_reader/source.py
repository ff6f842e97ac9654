"""What an identification device gives the edge: who is standing at the kiosk, not a measurement.

Deliberately not the reading contract (``drivers.contract.DeviceDriver``): an identification has no
observations, must not be stored in the outbox or published (it is the link between a person and
a pseudonym), and is never acknowledged to the device (card and barcode readers send and forget).
Bending ``Reading`` to carry it would send it down the durable publishing path it must stay off.
Open, close and the errors are the same as a driver's, so the edge's device policy applies alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Identification:
    device_id: str
    subject: str
    """Pseudonym of the card or QR value; the value itself never leaves the driver."""
    scanned_at: datetime
    """Aware UTC time the line arrived, on the gateway's clock (readers have none)."""


class IdentificationSource(Protocol):
    device_id: str

    async def open(self) -> None:
        """Open the transport; raise ``DeviceUnavailable`` if it cannot be opened now."""

    def identifications(self) -> AsyncIterator[Identification]:
        """Identifications as codes arrive; raise ``DeviceDisconnected`` when the device goes away."""

    async def close(self) -> None:
        """Release the transport. Safe to call twice and after a failed open."""
