"""Config of the end-to-end delivery check (DESIGN §4): watermarks and replays.

Kept apart from ``careedge_common.config`` (which imports it) so the models of one feature live
together; strict like every config model.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DeliveryCheck(BaseModel):
    """The bridge side: how it publishes watermarks and asks gateways to fill gaps."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gap_grace_s: float = Field(default=30.0, gt=0)
    """How long a missing ``seq`` may stay missing before the gateway is asked to replay it: longer
    than messages take to overtake each other (several bridges, a backlog in the broker)."""
    replay_retry_s: float = Field(default=60.0, gt=0)
    """When a gap is still open this long after a replay request, the request is repeated."""
    replay_attempts: int = Field(default=3, ge=1)
    """Times the gateway may answer that it has published a gap again before the gap is given up
    (counted and logged): its messages are then being rejected every time they arrive. A range the
    gateway answers it no longer holds is given up at once. Requests nobody answers never give a
    gap up (the gateway may be restarting or cut off, and would never send the messages again);
    they are repeated every ``replay_retry_s``."""
    watermark_interval_s: float = Field(default=1.0, ge=0)
    """Each gateway's watermark is published at most this often, when it has advanced."""
    watermark_refresh_s: float = Field(default=300.0, gt=0)
    """Each gateway's watermark is published again this often even when it has not advanced, so a
    gateway whose copy was lost (a broker restarted from an old snapshot) does not replay messages
    that are already stored."""


class EdgeReplay(BaseModel):
    """The gateway side: how it answers replay requests and finds messages lost at the tail."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tail_grace_s: float = Field(default=300.0, gt=0)
    """When the watermark has not moved for this long, messages published this long ago that it
    still does not cover are published again: no later message reveals a loss at the end of the
    stream. Keep it well above the bridges' ``watermark_interval_s``, or a watermark that is merely
    waiting for its next publication looks stalled and stored messages are sent again."""
    rate_per_s: float = Field(default=200.0, gt=0)
    """Most messages replayed per second (requested ranges and tail together)."""
