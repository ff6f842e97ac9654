"""Connection slots per adapter: a limit, served in order, bounded waits, releases that count once."""

from __future__ import annotations

import asyncio

import pytest

from drivers.ble_gatt.errors import NoConnectionSlot
from drivers.ble_gatt.slots import ConnectionSlots


async def test_third_holder_waits_for_a_released_slot_in_order() -> None:
    slots = ConnectionSlots(2)
    first = await slots.acquire("hci0", "A", 1)
    await slots.acquire("hci0", "B", 1)
    third = asyncio.create_task(slots.acquire("hci0", "C", 5))
    fourth = asyncio.create_task(slots.acquire("hci0", "D", 5))
    await asyncio.sleep(0)
    assert not third.done()

    first.release()
    lease = await asyncio.wait_for(third, 1)

    assert lease.holder == "C"
    assert slots.holders("hci0") == ("B", "C")
    assert not fourth.done()
    fourth.cancel()


async def test_release_twice_frees_one_slot() -> None:
    slots = ConnectionSlots(1)
    lease = await slots.acquire("hci0", "A", 1)
    lease.release()
    lease.release()
    await slots.acquire("hci0", "B", 1)

    with pytest.raises(NoConnectionSlot):
        await slots.acquire("hci0", "C", 0.05)


async def test_waiting_too_long_names_the_adapter_and_holders() -> None:
    slots = ConnectionSlots(1)
    await slots.acquire("hci0", "C4:7C:8D:6A:11:01", 1)

    with pytest.raises(NoConnectionSlot, match=r"all 1 connection slots of hci0 .*\(by C4:7C:8D:6A:11:01\)"):
        await slots.acquire("hci0", "C4:7C:8D:6A:11:02", 0.05)
    assert slots.holders("hci0") == ("C4:7C:8D:6A:11:01",)


async def test_limits_are_per_adapter() -> None:
    slots = ConnectionSlots(1, {"hci1": 2})
    await slots.acquire("hci0", "A", 1)
    await slots.acquire("hci1", "B", 1)
    await slots.acquire("hci1", "C", 1)

    assert (slots.limit("hci0"), slots.limit("hci1")) == (1, 2)
    with pytest.raises(NoConnectionSlot):
        await slots.acquire("hci1", "D", 0.05)


def test_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="hci1: at least 1"):
        ConnectionSlots(2, {"hci1": 0})
