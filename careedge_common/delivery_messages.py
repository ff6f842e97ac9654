"""The messages of the end-to-end delivery check (DESIGN §3, §4), shared by bridge and gateway.

``watermark`` (retained, from the bridges): every ``seq`` of the gateway up to ``seq`` is stored;
``boot`` is the boot that assigned that ``seq``. ``cmd/replay`` (from the bridges): publish the
messages ``from_seq``..``to_seq`` again. ``cmd-ack/{command_id}`` (from the gateway): what it did.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, field_serializer, model_validator

from careedge_common.envelope import rfc3339

COMMAND_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
"""A command ID becomes a topic level of its ``cmd-ack``: no wildcards, no slashes."""


class WatermarkMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    boot: StrictInt = Field(ge=1)
    seq: StrictInt = Field(ge=0)
    at: AwareDatetime
    """When the bridge published it."""

    @field_serializer("at")
    def _rfc3339(self, at: datetime) -> str:
        return rfc3339(at)


class ReplayCommand(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    command_id: str = Field(pattern=COMMAND_ID_PATTERN)
    boot: StrictInt = Field(ge=1)
    from_seq: StrictInt = Field(ge=1)
    to_seq: StrictInt = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.to_seq < self.from_seq:
            raise ValueError("to_seq must not be below from_seq")
        return self


class ReplayResult(BaseModel):
    """``missing``: ranges (first, last) of the request the gateway no longer holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1
    command_id: str
    result: Literal["replayed", "rejected"]
    from_seq: int | None = None
    to_seq: int | None = None
    replayed: int = 0
    missing: list[tuple[int, int]] = []
    reason: str | None = None


def compact_json(model: BaseModel) -> bytes:
    return json.dumps(model.model_dump(mode="json", exclude_none=True), separators=(",", ":")).encode()
