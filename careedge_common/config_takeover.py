"""How a bridge takes over the MQTT session of a peer bridge that died (``cloud_bridge.takeover``)."""

from __future__ import annotations

from pydantic import Field

from careedge_common.config_base import StrictModel


class TakeoverConfig(StrictModel):
    enabled: bool = True
    """Take over dead peers' sessions on an MQTT 5 shared subscription. Off, a dead bridge's share
    waits in its session until it restarts."""
    quiet_s: float = Field(default=2.0, gt=0, le=600)
    """A taken-over session is left once nothing arrived for this long and all is acknowledged."""
    retry_s: float = Field(default=5.0, gt=0, le=600)
    """After a takeover failed or was cut short, try again this much later if the peer is still
    offline (a peer that came back took its session itself)."""
