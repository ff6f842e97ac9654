"""From a characteristic value to what the edge stores: decoded, observed, timed and referenced.

A value that cannot become a reading is counted through ``on_rejected`` and skipped, never raised:
``short``, ``long``, ``invalid`` (the codec's ``BleDecodeError.reason``), ``no_value`` (special
values, a control-solution test, a glucose result beyond the meter's range, no skin contact: the
codec yields no observation) and ``out_of_range`` (a magnitude only a corrupted exponent makes).

``source_ref`` is ``{address}/{characteristic}`` for a live value and ``{address}/glucose/{seq}``
for a stored glucose record; ``parse_glucose_ref`` reads the latter back for the edge, which keeps
the last stored sequence number per meter (see ``BleHealthDriver``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from drivers.ble.blood_pressure import UNKNOWN_USER, BloodPressureMeasurement
from drivers.ble.errors import BleDecodeError
from drivers.ble.registry import Characteristic
from drivers.ble.weight import WeightMeasurement
from drivers.contract import Reading, RejectCounter

logger = logging.getLogger(__name__)

NO_VALUE = "no_value"
OUT_OF_RANGE = "out_of_range"
_GLUCOSE_REF = re.compile(r"^(?P<address>[^/]+)/glucose/(?P<sequence>[0-9]{1,5})$")

SubjectForUser = Callable[[int], str | None]
"""A device user number (a cuff's or scale's user 1, 2, ...) to the resident's pseudonymous subject."""


@dataclass(eq=False)
class BleMessage:
    """One reading handed to the edge.

    BLE has no application-level acknowledgement: the operating system confirmed the indication
    to the device when bleak received it. So ``accept`` tells the device nothing, and the
    durability point is the edge storing this reading before it asks for the next one (the driver
    takes no further value from the link until then). ``reject`` is remembered: a rejected glucose
    record stops the record transfer (``RecordNotStored``) so that it is fetched again next time;
    a rejected live value is lost, and logged so.
    """

    readings: tuple[Reading, ...]
    rejected: str | None = None

    async def accept(self) -> None:
        """Nothing reaches the device (see the class docstring)."""

    async def reject(self, reason: str) -> None:
        self.rejected = reason


def live_ref(address: str, characteristic: Characteristic[Any]) -> str:
    return f"{address}/{characteristic.name}"


def glucose_ref(address: str, sequence_number: int) -> str:
    return f"{address}/glucose/{sequence_number}"


def parse_glucose_ref(source_ref: str) -> tuple[str, int] | None:
    """(meter address, record sequence number) of a stored glucose record's ``source_ref``; None for
    any other reading."""
    match = _GLUCOSE_REF.match(source_ref)
    if match is None:
        return None
    return match["address"], int(match["sequence"])


class ReadingMaker:
    """Decodes values and builds readings for one device, counting what it has to skip."""

    def __init__(
        self, device_id: str, on_rejected: RejectCounter, subject_for_user: SubjectForUser | None
    ) -> None:
        self._device_id = device_id
        self._on_rejected = on_rejected
        self._subject_for_user = subject_for_user

    def decode(self, characteristic: Characteristic[Any], data: bytes, address: str) -> Any | None:
        """The decoded value, or None (counted by the codec's reason) when it cannot be decoded."""
        try:
            return characteristic.decode(data)
        except BleDecodeError as exc:
            self.skip(exc.reason, f"{address} {characteristic.name}: {exc}")
            return None

    def reading(
        self, characteristic: Characteristic[Any], value: Any, measured_at: datetime, source_ref: str
    ) -> Reading | None:
        """The reading of a decoded value, or None (counted) when it holds no usable observation."""
        try:
            observations = characteristic.to_observations(value)
        except ValueError as exc:
            self.skip(OUT_OF_RANGE, f"{source_ref}: {exc}")
            return None
        if not observations:
            self.skip(NO_VALUE, f"{source_ref}: no usable value", level=logging.INFO)
            return None
        return Reading(
            device_id=self._device_id,
            measured_at=measured_at,
            subject=self._subject(value),
            observations=tuple(observations),
            source_ref=source_ref,
        )

    def skip(self, reason: str, text: str, level: int = logging.WARNING) -> None:
        logger.log(level, "%s: rejected (%s): %s", self._device_id, reason, text)
        self._on_rejected(reason)

    def _subject(self, value: Any) -> str | None:
        """A cuff's or scale's user number mapped to a subject; None leaves binding to the edge."""
        if self._subject_for_user is None or not isinstance(
            value, BloodPressureMeasurement | WeightMeasurement
        ):
            return None
        if value.user_id is None or value.user_id == UNKNOWN_USER:
            return None
        return self._subject_for_user(value.user_id)
