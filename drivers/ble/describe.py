"""Decoded BLE values as JSON for people (``careedge decode ble.<name>``).

Numbers are JSON numbers (an SFLOAT or FLOAT with a negative exponent as the nearest float, which
prints as its decimal digits); special values are their names (``"NaN"``, ``"NRes"``, ``"+INF"``,
``"-INF"``, ``"reserved"``) so they can never be read as numbers; enumerations are their names; a
complete time stamp is ISO 8601 without a zone (device wall-clock time), one with an unknown
year, month or day an object with nulls.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from enum import Enum
from typing import Any

from drivers.ble.datetime_field import DateTime
from drivers.ble.ieee11073 import Finite
from drivers.ble.observations import number
from drivers.ble.registry import Characteristic


def describe(characteristic: Characteristic[Any], value: Any) -> dict[str, Any]:
    """The decoded ``value`` with what the product makes of it: observations and device time."""
    device_time = characteristic.device_time(value)
    return {
        "characteristic": characteristic.name,
        "uuid": f"0x{characteristic.uuid16:04X}",
        "value": plain(value),
        "device_time": device_time.isoformat() if device_time is not None else None,
        "observations": [
            observation.model_dump(exclude_none=True) for observation in characteristic.to_observations(value)
        ],
    }


def plain(value: object) -> Any:
    """``value`` as JSON-ready lists, dicts, strings, numbers, booleans and None."""
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Finite):
        return value.number
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, DateTime):
        moment = value.naive
        return moment.isoformat() if moment is not None else dataclasses.asdict(value)
    if isinstance(value, tuple):
        return [plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    raise TypeError(f"no JSON form for {type(value).__name__}")
