"""Simulated BLE health devices behind a bleak backend: the twin of ``drivers/ble_gatt``."""

from firmware_sim.ble.air import LinkEvent, SimulatedAir
from firmware_sim.ble.backend import SimulatedBleakClient, SimulatedBleakScanner
from firmware_sim.ble.clock import DeviceClock
from firmware_sim.ble.devices import (
    BloodPressureMonitor,
    GlucoseMeter,
    HeartRateSensor,
    PulseOximeter,
    Thermometer,
    WeightScale,
)
from firmware_sim.ble.faults import (
    ClockWrong,
    Delay,
    DisconnectAfter,
    Drop,
    Fault,
    LostConfirmation,
    Malformed,
    RefuseConnections,
)
from firmware_sim.ble.peripheral import Delivery, SimulatedPeripheral

__all__ = [
    "BloodPressureMonitor",
    "ClockWrong",
    "Delay",
    "Delivery",
    "DeviceClock",
    "DisconnectAfter",
    "Drop",
    "Fault",
    "GlucoseMeter",
    "HeartRateSensor",
    "LinkEvent",
    "LostConfirmation",
    "Malformed",
    "PulseOximeter",
    "RefuseConnections",
    "SimulatedAir",
    "SimulatedBleakClient",
    "SimulatedBleakScanner",
    "SimulatedPeripheral",
    "Thermometer",
    "WeightScale",
]
