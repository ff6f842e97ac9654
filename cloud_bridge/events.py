"""Rules for events that are not readings: nurse calls, cabinet events and gateway state.

- ``call`` envelope: the resident (or, unbound, the kiosk station) asked for a nurse. Repeated
  presses while the alert is open add to it; a nurse resolves it by hand.
- ``cabinet_event`` with ``data.event`` ``missed`` (a dose not taken; the envelope's subject
  names the resident) or ``temperature_excursion`` (the cabinet left its
  storage range; ``data.ended: true`` says it is back, which resolves the alert). Other cabinet
  events (dispense, refill, door…) raise nothing.
- Gateway ``state`` documents (retained; ``offline`` is also the Last Will): ``offline`` starts
  the grace period after which the gateway is alerted (see ``engine``), ``online`` clears it. A
  device listed in an online document with ``"status": "offline"`` is alerted at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from careedge_common.config_alerts import Category, EventRules, OfflineRules
from careedge_common.envelope import Envelope
from cloud_bridge.alert import Finding, Severity, finding_of

MISSED_DOSE = "missed"
TEMPERATURE_EXCURSION = "temperature_excursion"


class StateError(ValueError):
    """A state document that is neither ``offline`` nor a JSON object with a ``status``."""


@dataclass(frozen=True, slots=True)
class GatewayState:
    gateway: str
    online: bool
    offline_devices: tuple[str, ...] = ()
    listed_devices: tuple[str, ...] = ()


def parse_state(gateway: str, payload: bytes) -> GatewayState:
    """The gateway's birth document (JSON with ``status``) or a bare ``offline``; raises ``StateError``."""
    if payload.strip() == b"offline":
        return GatewayState(gateway, online=False)
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateError(f"a JSON state document ({exc.__class__.__name__})") from None
    if not isinstance(document, dict) or document.get("status") not in ("online", "offline"):
        raise StateError("an object with status 'online' or 'offline'")
    devices = [device for device in document.get("devices") or [] if isinstance(device, dict)]
    listed = tuple(str(device.get("id")) for device in devices if device.get("id"))
    offline = tuple(str(device["id"]) for device in devices if device.get("status") == "offline")
    return GatewayState(gateway, document["status"] == "online", offline, listed)


class EventRule:
    def __init__(self, events: EventRules, offline: OfflineRules) -> None:
        self._events = events
        self._offline = offline

    def evaluate(self, envelope: Envelope) -> list[Finding]:
        if envelope.type == "call":
            return [self._call(envelope)]
        if envelope.type == "cabinet_event":
            return self._cabinet(envelope, envelope.data or {})
        return []

    def _call(self, envelope: Envelope) -> Finding:
        scope = envelope.subject or f"device/{envelope.gateway}/{envelope.device}"
        return self._event(envelope, scope, "call", self._events.call_severity, "Call nurse")

    def _cabinet(self, envelope: Envelope, data: dict[str, Any]) -> list[Finding]:
        event = data.get("event")
        cabinet = f"device/{envelope.gateway}/{envelope.device}"
        if event == MISSED_DOSE:
            missed = self._events.missed_dose_severity
            return [self._event(envelope, envelope.subject or cabinet, "missed_dose", missed, "Missed dose")]
        if event == TEMPERATURE_EXCURSION:
            ended = data.get("ended") is True
            severity = None if ended else self._events.cabinet_temperature_severity
            title = "Cabinet temperature back in range" if ended else "Cabinet temperature out of range"
            finding = self._event(envelope, cabinet, "cabinet_temperature", severity, title)
            return [replace(finding, subject=None)]
        return []

    @staticmethod
    def _event(
        envelope: Envelope, scope: str, category: Category, severity: Severity | None, title: str
    ) -> Finding:
        """Events have one condition per category; the event's data is the alert's detail."""
        return finding_of(
            envelope, scope, category, category, severity, title, detail=dict(envelope.data or {})
        )

    def gateway_findings(self, state: GatewayState) -> list[Finding]:
        """Clears for an online gateway and its working devices, raises for its offline devices.
        The gateway's own offline alert waits for the grace period (``engine``)."""
        if not self._offline.enabled or not state.online:
            return []
        findings = [offline_finding(state.gateway, None, None)]
        for device in state.listed_devices:
            severity = self._offline.severity if device in state.offline_devices else None
            findings.append(offline_finding(state.gateway, device, severity))
        return findings


def offline_finding(gateway: str, device: str | None, severity: Severity | None) -> Finding:
    what = f"Device {device} on gateway {gateway}" if device else f"Gateway {gateway}"
    return Finding(
        scope=f"device/{gateway}/{device}" if device else f"gateway/{gateway}",
        condition="offline",
        category="offline",
        severity=severity,
        title=f"{what} offline" if severity else f"{what} back online",
        gateway=gateway,
        device=device,
    )
