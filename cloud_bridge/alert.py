"""The alert document: what the bridge publishes on ``careedge/v1/{site}/alerts``, stores and serves.

One JSON object (UTF-8) per alert, published again at each transition of its lifecycle
(``transition`` says which): ``raised`` → ``acknowledged`` → ``resolved``, with ``worsened``
(yellow became red) and ``escalated`` (sent to the next route) in between. Readings that repeat an
open alert's condition only add their IDs (``reading_ids``) and are stored as ``repeated``
transitions, never published: one open alert per scope and condition, no storm.

Fields: ``v`` (2) · ``id`` ULID · ``site`` · ``scope`` who or what the alert is about: the
resident's subject, ``gateway/{gw}``, ``device/{gw}/{device}``, or ``reading/{id}`` for a reading
not bound to a resident · ``subject`` pseudonymous resident or null · ``gateway``, ``device`` ·
``category`` (``careedge_common.config_alerts.Category``) · ``condition`` stable key within the
scope (``threshold:8480-6``, ``news2``, ``trend:weight_gain``…) · ``severity`` ``yellow`` | ``red``
· ``state`` · ``transition`` · ``title`` one line for people (never a name) · for single-reading
alerts ``code``, ``name``, ``value``, ``unit``, ``limit``, ``direction`` · ``detail`` rule-specific
facts (a NEWS2 score's parameters, a trend's figures) · ``reading_id`` the reading or event that
raised it, ``reading_ids`` every one that raised, worsened or repeated it · ``measured_at`` of the
latest of those · ``raised_at``, ``updated_at``, ``acknowledged_at``/``_by``,
``resolved_at``/``_by`` RFC 3339 UTC with milliseconds · ``escalation_level`` · ``routes`` the
webhook routes it has been sent to · ``historical`` the raising reading was replayed or
back-filled, so the alert is late.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from careedge_common.config_alerts import Category, Colour
from careedge_common.config_base import Direction
from careedge_common.envelope import Envelope, rfc3339

ALERT_VERSION: Literal[2] = 2

Severity = Colour
AlertState = Literal["raised", "acknowledged", "resolved"]
TransitionKind = Literal["raised", "repeated", "worsened", "acknowledged", "escalated", "resolved"]


@functools.lru_cache(maxsize=4096)
def _rfc3339(moment: datetime) -> str:
    """``rfc3339`` remembered: an alert's times recur at each of its transitions, and the steps of
    one batch share its ``now``. Equal aware datetimes are one instant, so one text."""
    return rfc3339(moment)


Rfc3339 = Annotated[datetime, PlainSerializer(_rfc3339, return_type=str)]
Clock = Callable[[], datetime]
"""Returns the current time, UTC-aware; injected so tests control time without sleeping."""

SEVERITY_RANK: dict[str | None, int] = {None: 0, "green": 0, "yellow": 1, "red": 2}


def _empty(container: type[list[Any] | dict[str, Any]]) -> Any:
    """A new empty container for each alert, which pydantic makes of a literal ``[]`` default
    by deep-copying it, without the copy; the schema still shows the empty default."""
    return Field(default_factory=container, json_schema_extra={"default": container()})


class Alert(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[2] = ALERT_VERSION
    id: str
    site: str
    scope: str
    subject: str | None
    gateway: str | None = None
    device: str | None = None
    category: Category
    condition: str
    severity: Severity
    state: AlertState = "raised"
    transition: TransitionKind = "raised"
    title: str
    code: str | None = None
    name: str | None = None
    value: float | None = None
    unit: str | None = None
    limit: float | None = None
    direction: Direction | None = None
    detail: dict[str, Any] = _empty(dict)
    reading_id: str | None = None
    reading_ids: list[str] = _empty(list)
    measured_at: Rfc3339 | None = None
    raised_at: Rfc3339
    updated_at: Rfc3339
    acknowledged_at: Rfc3339 | None = None
    acknowledged_by: str | None = None
    resolved_at: Rfc3339 | None = None
    resolved_by: str | None = None
    escalation_level: int = 0
    routes: list[str] = _empty(list)
    historical: bool = False


@dataclass(slots=True)
class Finding:
    """What a rule concluded about one condition of one scope: breached (``severity``) or clear
    (``severity`` None, which resolves an open alert when no later reading raised it).

    Not frozen, though nothing changes one after it is made: rules make one or two per reading,
    mostly clears of conditions that are not open, and a frozen dataclass of this size costs
    four times as much to make (3.9 instead of 1.0 µs)."""

    scope: str
    condition: str
    category: Category
    severity: Severity | None
    title: str
    subject: str | None = None
    gateway: str | None = None
    device: str | None = None
    reading_ids: tuple[str, ...] = ()
    measured_at: datetime | None = None
    historical: bool = False
    code: str | None = None
    value: float | None = None
    unit: str | None = None
    limit: float | None = None
    direction: Direction | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    once: bool = False
    """Raise at most one alert ever for this scope and condition (a day's missed measurement:
    resolved by hand, it must not come back at the next check)."""


def finding_of(
    envelope: Envelope,
    scope: str,
    condition: str,
    category: Category,
    severity: Severity | None,
    title: str,
    reading_ids: tuple[str, ...] | None = None,
    **facts: Any,
) -> Finding:
    """A finding about ``envelope``: its resident, gateway, device, time and lateness; the
    envelope's own ID unless ``reading_ids`` names the readings the rule looked at."""
    return Finding(
        scope=scope,
        condition=condition,
        category=category,
        severity=severity,
        title=title,
        subject=envelope.subject,
        gateway=envelope.gateway,
        device=envelope.device,
        reading_ids=(envelope.id,) if reading_ids is None else reading_ids,
        measured_at=envelope.measured_at,
        historical=envelope.historical,
        **facts,
    )


@dataclass(frozen=True, slots=True)
class Transition:
    """One stored step of an alert's life; ``alert`` is the document after it."""

    kind: TransitionKind
    alert: Alert
    at: datetime
    actor: str | None
    reading_ids: tuple[str, ...]
    routes: tuple[str, ...]
    """Webhook routes this transition is delivered to."""
    document: str
    """``alert`` as JSON: stored, and published unless ``repeated``; made once for both."""

    @property
    def published(self) -> bool:
        """Repeats only add reading IDs to the stored alert; everything else goes out."""
        return self.kind != "repeated"
