"""The driver contract (EdgeX-style): what the edge may rely on from any device driver.

A driver knows bytes and devices; it hands the edge one ``InboundMessage`` per device message
(which may hold several readings, e.g. a kiosk session or a memory upload) and learns, through
``accept``/``reject``, whether all of them are durably stored so it can acknowledge the device.
Retry and health policy is not here: it belongs to the edge (edge/device_policy.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from careedge_common.envelope import Observation


class DeviceError(Exception):
    """Base of every error a driver raises to the edge."""


class DeviceUnavailable(DeviceError):
    """The device cannot be opened now (port missing, busy, permission). Retry later."""


class DeviceDisconnected(DeviceError):
    """An open device went away (unplugged, EIO). Reopen with backoff."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One finished measurement, already in canonical units and pseudonymised."""

    device_id: str
    measured_at: datetime
    """Aware datetime, from the device clock when it has one."""
    subject: str | None
    """Pseudonymous resident ID, or None when the device does not know who measured."""
    observations: tuple[Observation, ...]
    source_ref: str
    """The device's own message reference (HL7 control ID, record number), for logs and audits."""


class InboundMessage(Protocol):
    readings: tuple[Reading, ...]
    """At least one; each with its own measurement time."""

    async def accept(self) -> None:
        """Tell the device its readings are safely stored (HL7: ACK AA)."""

    async def reject(self, reason: str) -> None:
        """Tell the device the readings were not taken so it keeps them (HL7: ACK AE)."""


RejectCounter = Callable[[str], None]
"""Called with a short reason code for every input a driver rejects (for metrics by reason)."""


class DeviceDriver(Protocol):
    device_id: str

    async def open(self) -> None:
        """Open the transport; raise ``DeviceUnavailable`` if it cannot be opened now."""

    def messages(self) -> AsyncIterator[InboundMessage]:
        """Device messages as they arrive; raise ``DeviceDisconnected`` when the device goes away."""

    async def close(self) -> None:
        """Release the transport. Safe to call twice and after a failed open."""
