"""The characteristic table the BLE driver looks notifications up in, by name or UUID."""

from __future__ import annotations

import pytest

from drivers.ble.registry import BLUETOOTH_BASE_UUID, CHARACTERISTICS, by_uuid

# Bluetooth SIG Assigned Numbers, 16-bit UUIDs of GATT characteristics.
ASSIGNED = {
    "blood_pressure": 0x2A35,
    "intermediate_cuff_pressure": 0x2A36,
    "temperature": 0x2A1C,
    "intermediate_temperature": 0x2A1E,
    "plx_spot_check": 0x2A5E,
    "plx_continuous": 0x2A5F,
    "glucose": 0x2A18,
    "glucose_context": 0x2A34,
    "weight": 0x2A9D,
    "weight_scale_feature": 0x2A9E,
    "heart_rate": 0x2A37,
}


def test_names_and_uuids_are_the_assigned_numbers() -> None:
    assert {name: entry.uuid16 for name, entry in CHARACTERISTICS.items()} == ASSIGNED
    assert CHARACTERISTICS["blood_pressure"].uuid == "00002a35-0000-1000-8000-00805f9b34fb"
    assert BLUETOOTH_BASE_UUID.format(0x2A37) == "00002a37-0000-1000-8000-00805f9b34fb"


@pytest.mark.parametrize(
    "key",
    [
        0x2A35,
        "00002a35-0000-1000-8000-00805f9b34fb",
        "00002A35-0000-1000-8000-00805F9B34FB",
        "2a35",
        "0x2A35",
        " 2A35 ",
    ],
)
def test_lookup_by_uuid_accepts_the_spellings_of_bleak_and_people(key: int | str) -> None:
    assert by_uuid(key) is CHARACTERISTICS["blood_pressure"]


@pytest.mark.parametrize("key", [0x2A19, "2a19", "zzzz", "00002a35-0000-1000-8000-00805f9b34fc", ""])
def test_lookup_of_a_characteristic_the_product_does_not_decode_is_none(key: int | str) -> None:
    assert by_uuid(key) is None


@pytest.mark.parametrize("name", sorted(CHARACTERISTICS))
def test_each_entry_has_a_title_and_its_own_value_type(name: str) -> None:
    entry = CHARACTERISTICS[name]

    assert entry.title
    assert entry.value_type.__module__.startswith("drivers.ble.")
    assert by_uuid(entry.uuid16) is entry
