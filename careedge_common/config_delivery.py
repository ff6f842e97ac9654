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
    """Requests for one gap before it is given up (counted and logged): the gateway no longer
    holds the messages, or they are rejected every time they arrive. With the defaults a gap is
    given up after about 3.5 minutes, before a gateway's own tail check (``tail_grace_s``, 5
    minutes) would start sending everything above the stalled watermark again."""
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
