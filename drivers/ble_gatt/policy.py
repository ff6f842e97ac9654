"""Every wait and retry of the BLE driver, bounded and named in one place.

Retries *within* one connection attempt are bleak-retry-connector's (``establish_connection``:
transient BlueZ/ESP errors mapped to their own backoffs, at most ``connect_attempts`` attempts).
Retries *between* connections are the edge's (``edge.device_policy``): every typed error of
``drivers.ble_gatt.errors`` ends ``messages()`` and the supervisor backs off before ``open()``.
Nothing here retries forever.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BlePolicy:
    connect_attempts: int = 3
    """``max_attempts`` of bleak-retry-connector's ``establish_connection``."""
    slot_wait_s: float = 60.0
    """How long a device that advertised may wait for a free connection slot on its adapter; a
    health device advertises for about a minute after measuring."""
    gatt_timeout_s: float = 10.0
    """One GATT read, write or subscription."""
    measurement_timeout_s: float = 90.0
    """After an intermediate value (cuff pressure, intermediate temperature), the final value must
    follow within this; a blood pressure measurement takes under a minute."""
    racp_timeout_s: float = 15.0
    """Longest silence during a record transfer: between two records, or before the response."""
    idle_disconnect_s: float = 30.0
    """A connection on which nothing arrives for this long is closed, so that it does not hold a
    connection slot another device needs; the device is connected again when it next advertises."""
    continuous_interval_s: float = 60.0
    """Continuous values (heart rate, PLX continuous) become at most one reading per this interval;
    the rest are display values and are not stored."""
    clock_tolerance_s: float = 60.0
    """A device clock off by more than this is set through the Current Time Service, and its time
    stamps are corrected by the offset (``drivers.ble_gatt.clock``)."""

    def __post_init__(self) -> None:
        if self.connect_attempts < 1:
            raise ValueError("connect_attempts: at least 1")
        for name in (
            "slot_wait_s",
            "gatt_timeout_s",
            "measurement_timeout_s",
            "racp_timeout_s",
            "idle_disconnect_s",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: more than 0")
        if self.continuous_interval_s < 0 or self.clock_tolerance_s < 0:
            raise ValueError("continuous_interval_s and clock_tolerance_s: 0 or more")


DEFAULT_BLE_POLICY = BlePolicy()
