"""What can go wrong with a BLE device, as classes the edge already knows how to treat.

Each error is a ``DeviceUnavailable`` (the device cannot be reached now: the supervisor backs off
and opens the driver again) or a ``DeviceDisconnected`` (a connection broke while something was
under way: same treatment, and the interrupted procedure is resumed on the next connection). The
``reason`` of each class is a stable short code for logs and metrics; the message names the
device address and what was expected, never a resident.
"""

from __future__ import annotations

from typing import ClassVar

from drivers.contract import DeviceDisconnected, DeviceUnavailable


class AdapterUnavailable(DeviceUnavailable):
    """The Bluetooth adapter is missing, powered off or refuses to scan."""

    reason: ClassVar[str] = "adapter_unavailable"


class NoConnectionSlot(DeviceUnavailable):
    """Every connection slot of the adapter stayed taken for ``BlePolicy.slot_wait_s``."""

    reason: ClassVar[str] = "no_connection_slot"


class ConnectFailed(DeviceUnavailable):
    """The device advertised but the connection failed after ``BlePolicy.connect_attempts`` attempts
    (bleak-retry-connector's ``BleakNotFoundError``, ``BleakAbortedError``,
    ``BleakOutOfConnectionSlotsError`` or ``BleakConnectionError``)."""

    reason: ClassVar[str] = "connect_failed"


class ServiceMissing(DeviceUnavailable):
    """The device connected but does not offer what its configured profile needs."""

    reason: ClassVar[str] = "service_missing"


class LinkLost(DeviceDisconnected):
    """The link dropped while a measurement or a record transfer was under way."""

    reason: ClassVar[str] = "link_lost"


class GattFailed(DeviceDisconnected):
    """A GATT read, write or subscription failed or did not complete within ``BlePolicy.gatt_timeout_s``."""

    reason: ClassVar[str] = "gatt_failed"


class IndicationTimeout(DeviceDisconnected):
    """The device showed a measurement in progress (intermediate values) and then sent no final
    value within ``BlePolicy.measurement_timeout_s``."""

    reason: ClassVar[str] = "indication_timeout"


class RacpTimeout(DeviceDisconnected):
    """A glucose record transfer stalled: no record and no RACP response within
    ``BlePolicy.racp_timeout_s``."""

    reason: ClassVar[str] = "racp_timeout"


class RacpRefused(DeviceDisconnected):
    """The meter refused a Record Access Control Point request or answered it unreadably."""

    reason: ClassVar[str] = "racp_refused"


class RecordNotStored(DeviceDisconnected):
    """The edge rejected a downloaded glucose record; the transfer stops there so that the next one
    starts again from the last stored record instead of leaving a gap."""

    reason: ClassVar[str] = "record_not_stored"
