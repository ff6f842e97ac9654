"""From decoded BLE values to canonical observations: the one place special values are dropped.

A NaN, NRes, ±INF or reserved value, or a value the device flags as not about the resident, never
becomes a number in the time series: it yields no observation at all.
"""

from __future__ import annotations

from decimal import Decimal

from careedge_common.codes import ObservationKind
from careedge_common.envelope import Observation
from drivers.ble.ieee11073 import Finite, MedFloat
from drivers.units import to_canonical

MAX_MAGNITUDE = 10**9
"""No vital sign comes near this in any unit a device uses, while a FLOAT reaches 8 x 10**133.
A larger value is an encoding fault (a wrong exponent byte): it is refused, so that the time
series never holds it and no stored integer outgrows 64 bits."""


def canonical(kind: ObservationKind, value: int | float, unit: str) -> Observation:
    """``to_canonical`` for a device number; raises ``ValueError`` for a magnitude above
    ``MAX_MAGNITUDE`` before or after conversion (checked first: ``to_canonical``'s decimal
    rounding fails on numbers of more than 28 digits)."""
    observation = None
    if abs(value) <= MAX_MAGNITUDE:
        observation = to_canonical(kind, value, str(unit))
    if observation is None or abs(observation.value) > MAX_MAGNITUDE:
        raise ValueError(f"{kind.code}: {value:.6g} {unit} is beyond any measurement (magnitude over 10**9)")
    return observation


def observe(kind: ObservationKind, value: MedFloat | None, unit: str) -> list[Observation]:
    """One observation of ``value`` (in the UCUM ``unit``) converted to ``kind``'s unit.

    None for a missing or special value. Raises ``ValueError`` as ``canonical`` does.
    """
    if not isinstance(value, Finite):
        return []
    return [canonical(kind, value.number, unit)]


def number(value: Decimal) -> int | float:
    """An exact decimal as JSON and ``to_canonical`` take it: an int when it is whole."""
    return int(value) if value == value.to_integral_value() else float(value)
