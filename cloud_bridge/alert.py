"""The alert document: what the bridge publishes on ``careedge/v1/{site}/alerts`` and stores.

One JSON object per alert (UTF-8), field by field:

``v`` schema version (1) · ``id`` ULID of the alert · ``site``, ``gateway``, ``device`` ·
``subject`` pseudonymous resident ID or null · ``severity`` ``"yellow"`` | ``"red"`` ·
``category`` ``"threshold"`` · ``code`` LOINC code, ``name`` its display name · ``value`` the
observed value and ``unit`` its UCUM unit · ``limit`` the crossed limit (same unit) ·
``direction`` ``"above"`` | ``"below"`` · ``reading_id`` the envelope ID · ``measured_at`` and
``raised_at`` RFC 3339 UTC with milliseconds · ``historical`` true when the reading was replayed
or back-filled, so the alert is late.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, PlainSerializer

from careedge_common.envelope import rfc3339

ALERT_VERSION: Literal[1] = 1

Severity = Literal["yellow", "red"]
Direction = Literal["above", "below"]
Rfc3339 = Annotated[datetime, PlainSerializer(rfc3339, return_type=str)]


class Alert(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = ALERT_VERSION
    id: str
    site: str
    gateway: str
    device: str
    subject: str | None
    severity: Severity
    category: Literal["threshold"] = "threshold"
    code: str
    name: str
    value: float
    unit: str
    limit: float
    direction: Direction
    reading_id: str
    measured_at: Rfc3339
    raised_at: Rfc3339
    historical: bool

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()
