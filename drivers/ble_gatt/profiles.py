"""The six device profiles: which service a device advertises and which characteristics carry what.

- ``finals``: each value is one finished measurement, a reading (indicated: blood pressure,
  temperature, PLX spot check, weight).
- ``progress``: intermediate values while a measurement runs (cuff pressure, intermediate
  temperature); never stored, they tell the driver a final value is on its way.
- ``continuous``: a stream (heart rate, PLX continuous), sampled into readings at most once per
  ``BlePolicy.continuous_interval_s``.
- ``records``: the glucose meter's stored records, fetched through the Record Access Control Point.

A device must offer the service and at least one of the characteristics the profile reads; the
others are optional (a PLX device may offer only spot checks or only continuous values).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.ble.registry import BLUETOOTH_BASE_UUID, Characteristic, by_uuid
from drivers.ble_gatt.racp import RACP_UUID16

GLUCOSE_MEASUREMENT_UUID16 = 0x2A18


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    """The config value (``DeviceConfig.profile``)."""
    service_uuid16: int
    finals: tuple[int, ...] = ()
    progress: tuple[int, ...] = ()
    continuous: tuple[int, ...] = ()
    records: bool = False

    @property
    def service_uuid(self) -> str:
        """As bleak spells it (lower-case 128-bit), for the scanner's service filter."""
        return uuid128(self.service_uuid16)

    @property
    def values(self) -> tuple[int, ...]:
        """Every characteristic whose values the driver decodes into readings."""
        return self.finals + self.continuous + ((GLUCOSE_MEASUREMENT_UUID16,) if self.records else ())


def uuid128(uuid16: int) -> str:
    return BLUETOOTH_BASE_UUID.format(uuid16)


def codec(uuid16: int) -> Characteristic[Any]:
    """The codec of a characteristic a profile names (all are in ``drivers.ble.registry``)."""
    found = by_uuid(uuid16)
    if found is None:
        raise KeyError(f"no codec for 0x{uuid16:04X}")
    return found


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile("blood_pressure", 0x1810, finals=(0x2A35,), progress=(0x2A36,)),
        Profile("thermometer", 0x1809, finals=(0x2A1C,), progress=(0x2A1E,)),
        Profile("pulse_oximeter", 0x1822, finals=(0x2A5E,), continuous=(0x2A5F,)),
        Profile("glucose_meter", 0x1808, records=True),
        Profile("weight_scale", 0x181D, finals=(0x2A9D,)),
        Profile("heart_rate", 0x180D, continuous=(0x2A37,)),
    )
}
"""Config name -> profile."""
RECORD_CHARACTERISTICS = (GLUCOSE_MEASUREMENT_UUID16, RACP_UUID16)
"""What a glucose meter must offer: records are notified on the first, requested on the second."""
