"""The small building blocks of site configuration, shared by ``config`` and ``config_*`` modules.

Apart from ``config.py`` so that topic modules (``config_alerts``) can use them while ``config.py``
uses the topic modules' models, without an import cycle. ``config.py`` re-exports every name.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from careedge_common.codes import BY_CODE

IDENTIFIER = r"^[a-z0-9][a-z0-9_-]{0,63}$"
"""Site, gateway and device IDs end up in MQTT topics and TSDB tags: no wildcards, no slashes."""

Identifier = Annotated[str, Field(pattern=IDENTIFIER)]
Port = Annotated[int, Field(ge=1, le=65535)]

SUBJECT_PATTERN = r"^s-[0-9a-f]{32}$"
"""A pseudonymous resident subject as ``Pseudonymiser.subject`` writes it: never an ID number."""
Subject = Annotated[str, Field(pattern=SUBJECT_PATTERN)]
DEVICE_USER_PATTERN = r"^[0-9A-Za-z_-]{1,16}$"
"""A user number or name as a personal device reports it (blood-pressure cuffs: 1 to 4)."""
DeviceUser = Annotated[str, Field(pattern=DEVICE_USER_PATTERN)]
Band = Literal["green", "yellow", "red"]
Direction = Literal["above", "below"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(StrictModel):
    """Yellow and red bands of one observation code. A value strictly beyond a limit alerts."""

    code: str
    yellow_above: float | None = None
    red_above: float | None = None
    yellow_below: float | None = None
    red_below: float | None = None

    @field_validator("code")
    @classmethod
    def _known_code(cls, value: str) -> str:
        if value not in BY_CODE:
            raise ValueError(f"a LOINC code the product knows ({', '.join(sorted(BY_CODE))})")
        return value

    @model_validator(mode="after")
    def _bands_ordered(self) -> Self:
        limits = [self.red_below, self.yellow_below, self.yellow_above, self.red_above]
        present = [limit for limit in limits if limit is not None]
        if not present:
            raise ValueError("at least one of yellow_above, red_above, yellow_below, red_below")
        if present != sorted(present) or len(set(present)) != len(present):
            raise ValueError("limits ordered red_below < yellow_below < yellow_above < red_above")
        return self

    def band(self, value: float) -> tuple[Band, Direction | None]:
        """The most severe band ``value`` lies strictly beyond (red before yellow) and on which side;
        ``("green", None)`` within every limit. The cloud's alert rules compare the same way."""
        if self.red_above is not None and value > self.red_above:
            return "red", "above"
        if self.red_below is not None and value < self.red_below:
            return "red", "below"
        if self.yellow_above is not None and value > self.yellow_above:
            return "yellow", "above"
        if self.yellow_below is not None and value < self.yellow_below:
            return "yellow", "below"
        return "green", None
