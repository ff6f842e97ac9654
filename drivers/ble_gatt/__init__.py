"""The BLE health-device driver on bleak; the codecs it uses are ``drivers.ble``."""

from drivers.ble_gatt.driver import DEFAULT_ADAPTER, BleHealthDriver
from drivers.ble_gatt.policy import DEFAULT_BLE_POLICY, BlePolicy
from drivers.ble_gatt.profiles import PROFILES, Profile
from drivers.ble_gatt.readings import parse_glucose_ref
from drivers.ble_gatt.slots import ConnectionSlots

__all__ = [
    "DEFAULT_ADAPTER",
    "DEFAULT_BLE_POLICY",
    "PROFILES",
    "BleHealthDriver",
    "BlePolicy",
    "ConnectionSlots",
    "Profile",
    "parse_glucose_ref",
]
