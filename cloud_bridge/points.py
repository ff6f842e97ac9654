"""The time-series shape of a reading: one point per observation (DESIGN §5).

The point key is (measurement, tags, time): a re-delivered envelope yields the same keys, so an
idempotent sink overwrites instead of duplicating.
"""

from __future__ import annotations

from typing import NamedTuple

from careedge_common.envelope import Envelope

MEASUREMENT = "vitals"
VALUE_FIELD = "value"


class VitalPoint(NamedTuple):
    """One observation as stored. ``subject`` is None for unbound readings (the tag is omitted)."""

    site: str
    gateway: str
    device: str
    subject: str | None
    code: str
    unit: str
    value: float
    time_ms: int
    """``measured_at`` as whole milliseconds since the Unix epoch (UTC); integer, never a float."""


def points_of(envelope: Envelope) -> list[VitalPoint]:
    """Points of a validated observation envelope (``measured_at`` is already UTC)."""
    time_ms = envelope.measured_at_ms
    subject = envelope.subject or None
    return [
        VitalPoint(
            envelope.site,
            envelope.gateway,
            envelope.device,
            subject,
            observation.code,
            observation.unit,
            float(observation.value),
            time_ms,
        )
        for observation in envelope.obs
    ]
