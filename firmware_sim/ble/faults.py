"""Faults a test injects into a simulated BLE device (``SimulatedPeripheral.inject``).

Each fault acts once, on the next occasion it names, so a test decides exactly where it happens:

- ``DisconnectAfter(n)``: the link drops after ``n`` more values have been delivered, before the
  next one (``0``: before the next value). Mid-indication, mid-measurement, mid-RACP transfer.
  A stored measurement that was not delivered stays in the device and is sent on the next
  connection; the rest of a record transfer is not (the client must ask again).
- ``Malformed(uuid16)``: the next value of that characteristic is sent one byte short or one byte
  long (the seed picks which unless ``how`` says): no decoder can accept it.
- ``Delay(uuid16, seconds)``: the next value of that characteristic is held back (a slow device);
  values behind it wait too, as indications do.
- ``Drop(uuid16)``: the next value of that characteristic is never sent (a missing indication or
  a missing RACP response); the device then waits as if it were on its way and does not hang up.
- ``LostConfirmation(uuid16)``: the next value of that characteristic arrives, but the device
  never hears the confirmation: it keeps the value, the link drops, and it sends it again on the
  next connection.
- ``RefuseConnections(count)``: the next ``count`` connection attempts fail.
- ``ClockWrong(offset)``: the device clock is off by ``offset`` from now on (until a central sets it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal


@dataclass(frozen=True, slots=True)
class DisconnectAfter:
    deliveries: int


@dataclass(frozen=True, slots=True)
class Malformed:
    uuid16: int
    how: Literal["truncate", "extend"] | None = None


@dataclass(frozen=True, slots=True)
class Delay:
    uuid16: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Drop:
    uuid16: int


@dataclass(frozen=True, slots=True)
class LostConfirmation:
    uuid16: int


@dataclass(frozen=True, slots=True)
class RefuseConnections:
    count: int = 1


@dataclass(frozen=True, slots=True)
class ClockWrong:
    offset: timedelta


Fault = DisconnectAfter | Malformed | Delay | Drop | LostConfirmation | RefuseConnections | ClockWrong
