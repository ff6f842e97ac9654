"""Settings of a Modbus device (kind ``modbus_cabinet``): where its profile is, how often to poll
it, and how long to wait for it. The link itself is ``transport`` (``modbus_tcp``: ``modbus.host``
and ``modbus.tcp_port``; ``modbus_rtu``: the device's ``port`` and ``serial`` settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Port = Annotated[int, Field(ge=1, le=65535)]


class ModbusSettings(BaseModel):
    """Strict like every config model (``careedge_common.config`` imports this module, so it cannot
    share that module's ``StrictModel``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: Path
    """The cabinet model's register map (``config/profiles/*.yaml``); relative to the site file."""
    host: str | None = Field(default=None, min_length=1)
    """``modbus_tcp`` only, required there: the controller's (or RTU gateway's) address."""
    tcp_port: Port = 502
    """``modbus_tcp`` only."""
    poll_interval_s: float = Field(default=1.0, gt=0, le=3600)
    """Sensors, counts and temperatures are read this often; commands do not wait for it."""
    timeout_s: float = Field(default=1.0, gt=0, le=60)
    """How long to wait for one answer."""
    retries: int = Field(default=2, ge=0, le=10)
    """Requests sent again after a timeout or a "busy" answer, before the request fails."""
    reconnect_initial_s: float = Field(default=0.5, gt=0, le=60)
    """First wait before reconnecting a lost link; doubles up to ``reconnect_max_s``."""
    reconnect_max_s: float = Field(default=30.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _backoff_ordered(self) -> Self:
        if self.reconnect_max_s < self.reconnect_initial_s:
            raise ValueError("reconnect_max_s at least reconnect_initial_s")
        return self
