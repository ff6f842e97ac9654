"""The message envelope every gateway publishes and every bridge validates (DESIGN §3).

The model is strict (unknown keys rejected, types not coerced from strings) because the bridge is
the last place a malformed message can be stopped before it becomes a stored clinical fact.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictFloat, StrictInt
from ulid import ULID

from careedge_common.epoch import epoch_us

ENVELOPE_VERSION: Literal[1] = 1

EnvelopeType = Literal["observation", "cabinet_event", "call"]


class RawValue(BaseModel):
    """What the device sent before conversion to the canonical unit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: StrictFloat | StrictInt
    unit: str


class Observation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(min_length=1, max_length=32)
    name: str = Field(max_length=200)
    value: StrictFloat | StrictInt
    unit: str = Field(min_length=1, max_length=32)
    raw: RawValue | None = None


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = ENVELOPE_VERSION
    id: str = Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")
    seq: StrictInt = Field(ge=1)
    boot: StrictInt = Field(ge=1)
    site: str = Field(min_length=1, max_length=64)
    gateway: str = Field(min_length=1, max_length=64)
    device: str = Field(min_length=1, max_length=64)
    type: EnvelopeType
    measured_at: AwareDatetime
    """With the offset it was sent with; compare and convert, never print it raw (``rfc3339``)."""
    received_at: AwareDatetime
    subject: str | None = Field(default=None, max_length=64)
    historical: bool = False
    supersedes: str | None = Field(default=None, pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")
    """ID of an earlier envelope of this gateway that this one corrects (staff assigned an unbound
    reading to a resident): the same measurement, now with its subject. Consumers replace the
    earlier one instead of counting the measurement twice."""
    obs: list[Observation] = Field(default_factory=list)
    data: dict[str, Any] | None = None
    """Payload of non-observation events (cabinet events, calls)."""

    @cached_property
    def measured_at_us(self) -> int:
        """``measured_at`` in microseconds since the Unix epoch. Points, stored readings, windows
        and rules each need it, and datetime arithmetic with pydantic's own time zone object is
        about three times slower than with ``datetime.UTC``: worked out once per envelope."""
        return epoch_us(self.measured_at)

    @cached_property
    def measured_at_ms(self) -> int:
        """``measured_at`` as ``epoch_ms`` gives it: the stored time of the envelope's points."""
        return self.measured_at_us // 1000


def new_event_id() -> str:
    """A ULID: sortable by creation time, unique without coordination between gateways."""
    return str(ULID())


def rfc3339(moment: datetime) -> str:
    """UTC with millisecond precision and a ``Z`` suffix: the one timestamp form on the wire."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime cannot be serialised as RFC 3339")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> datetime:
    return datetime.now(UTC)
