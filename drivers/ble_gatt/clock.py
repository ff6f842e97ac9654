"""When a BLE measurement was taken: the device's time stamp, corrected when its clock was wrong.

Health devices stamp values with their own wall clock, which has no zone and is often wrong by
hours (set by hand, reset by a battery change, never moved for daylight saving). On every
connection the driver reads the device's Current Time and compares it with the gateway's clock,
both as wall-clock time in the site's zone: ``offset = device - gateway``. Beyond the policy's
tolerance it writes the gateway's time to the device, so later measurements carry right stamps.

Rules, in order:

1. No stamp (heart rate, PLX continuous, a date the device does not know): the receive time.
2. A stamp taken on a clock known to be right (offset within tolerance, or taken after the
   correction): the stamp, in the site's zone.
3. A stamp taken on a clock known to be wrong by ``offset``: the stamp minus the offset. The
   offset is the one read on connecting, assuming the clock did not jump between the measurement
   and the connection (drift is seconds a week; a jump, e.g. someone setting it by hand, is not seen).
4. A result later than the receive time (beyond tolerance) cannot be right: the receive time.

Which clock a stamp was taken on:

- Live values (blood pressure, temperature, spot check, weight) after a correction at gateway time
  ``G``: a stamp between ``G - tolerance`` and the receive time (+ tolerance) was taken on the
  corrected clock; any other was stored in the device before (rule 3). Ambiguous only when the
  clock was *ahead* by X and the measurement was taken less than X before the connection: its
  wrong stamp falls in the window and is kept.
- Glucose records: before correcting, the driver asks the meter for its last record; records up to
  that sequence number were stamped on the wrong clock, later ones on the corrected clock.
- The driver remembers each device's last correction (``ClockMemory``, in memory), so that a value
  stamped before it and received on a later connection gets the same time as it would have on the
  first: a record transfer resumed after a disconnect, a measurement the device sends again
  because it never heard the confirmation (the edge then recognises the repeat by its content).
  A restarted gateway has forgotten: such values keep their wrong stamps.
- A device without the Current Time Service: its stamps are taken as they are (rules 2 and 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

NO_CORRECTION = timedelta(0)


@dataclass(frozen=True, slots=True)
class ClockCheck:
    """What one connection learnt about the device's clock."""

    offset: timedelta | None
    """Device minus gateway wall clock when read, whole seconds; None when the device offers no
    Current Time or it could not be read."""
    corrected_at: datetime | None = None
    """Gateway wall-clock time (naive, site zone) at which the device accepted the gateway's time;
    None when it was not written (within tolerance, not offered, or refused)."""


UNCHECKED = ClockCheck(None)


@dataclass(frozen=True, slots=True)
class RecordClock:
    """A glucose meter's clock correction, remembered across connections."""

    offset: timedelta
    through_sequence: int
    """Records with this sequence number or lower were stamped on the wrong clock."""


@dataclass
class ClockMemory:
    """The last clock correction of each device of one driver, by address."""

    live: dict[str, ClockCheck] = field(default_factory=dict)
    records: dict[str, RecordClock] = field(default_factory=dict)


def wall_clock(moment: datetime, zone: ZoneInfo) -> datetime:
    """``moment`` (aware) as naive wall-clock time in ``zone``: what a device clock shows."""
    return moment.astimezone(zone).replace(tzinfo=None)


def clock_offset(device: datetime, gateway: datetime) -> timedelta:
    """Device minus gateway wall clock, rounded to whole seconds (Date Time has no fractions)."""
    return timedelta(seconds=round((device - gateway).total_seconds()))


def live_measured_at(
    stamp: datetime | None, received: datetime, zone: ZoneInfo, check: ClockCheck, tolerance: timedelta
) -> datetime:
    """The measurement time of a live value: ``stamp`` is the device's naive wall-clock time,
    ``received`` the aware time the gateway got it; the result is aware, in ``zone``."""
    if stamp is None:
        return received
    correction = _wrong_by(check, tolerance)
    if check.corrected_at is not None:
        local_received = wall_clock(received, zone)
        if check.corrected_at - tolerance <= stamp <= local_received + tolerance:
            correction = NO_CORRECTION
    return _finish(stamp - correction, received, zone, tolerance)


def record_measured_at(
    stamp: datetime | None,
    sequence_number: int,
    received: datetime,
    zone: ZoneInfo,
    check: ClockCheck,
    remembered: RecordClock | None,
    tolerance: timedelta,
) -> datetime:
    """As ``live_measured_at`` for a stored glucose record; ``remembered`` is the meter's last clock
    correction, which decides by sequence number which clock stamped the record."""
    if stamp is None:
        return received
    if remembered is not None and sequence_number <= remembered.through_sequence:
        correction = remembered.offset
    elif check.corrected_at is not None:
        correction = NO_CORRECTION
    else:
        correction = _wrong_by(check, tolerance)
    return _finish(stamp - correction, received, zone, tolerance)


def _wrong_by(check: ClockCheck, tolerance: timedelta) -> timedelta:
    if check.offset is None or abs(check.offset) <= tolerance:
        return NO_CORRECTION
    return check.offset


def _finish(local: datetime, received: datetime, zone: ZoneInfo, tolerance: timedelta) -> datetime:
    if local > wall_clock(received, zone) + tolerance:
        return received
    return local.replace(tzinfo=zone)
