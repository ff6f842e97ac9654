"""The cloud's dispense commands (``.../cmd/dispense``) and their answers (``.../cmd-ack/{id}``).

A command is recorded (``DispenseWorkflow.accept``) before it is answered; a repeat with the same
``command_id`` (the cloud heard no answer, the broker redelivered) is answered with the recorded
state and changes nothing. Answers are published straight to the broker, not through the outbox:
they are not events, and a lost answer is recovered by the cloud repeating its command.
The subscription is a persistent session, so commands sent while the edge was down arrive when it
is back.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from careedge_common import topics
from careedge_common.config import SUBJECT_PATTERN, SiteConfig
from careedge_common.mqtt_client import connect_async, make_client
from edge.audit import CLOUD_ACTOR
from edge.dispensing import DispenseWorkflow
from edge.dose_store import Dose

log = logging.getLogger(__name__)

COMMAND_ID_PATTERN = r"^[0-9A-Za-z_-]{1,64}$"
"""Goes into a topic name (``cmd-ack/{command_id}``): no wildcards, no slashes."""


class DispenseCommand(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    command_id: str = Field(pattern=COMMAND_ID_PATTERN)
    subject: str = Field(pattern=SUBJECT_PATTERN)
    cabinet: str = Field(min_length=1, max_length=64)
    slot: int = Field(ge=1, le=256)
    doses: int = Field(default=1, ge=1, le=20)
    window_start: AwareDatetime
    window_end: AwareDatetime

    @model_validator(mode="after")
    def _window_ordered(self) -> DispenseCommand:
        if self.window_end <= self.window_start:
            raise ValueError("window_end after window_start")
        return self

    def dose(self) -> Dose:
        return Dose(
            f"cmd:{self.command_id}",
            self.cabinet,
            self.slot,
            self.doses,
            self.subject,
            self.window_start,
            self.window_end,
            command_id=self.command_id,
        )


def dose_document(dose: Dose) -> dict[str, Any]:
    """A dose as the API and command answers show it (pseudonymous subject only)."""
    return {
        **dose.facts(),
        "subject": dose.subject,
        "state": dose.state,
        "envelope_id": dose.envelope_id,
        "reason": dose.reason,
    }


class CommandListener:
    def __init__(self, config: SiteConfig, workflow: DispenseWorkflow, on_rejected: Any) -> None:
        """``on_rejected(reason)`` counts a command that could not be used."""
        assert config.gateway is not None
        self._config = config
        self._site = config.site.id
        self._gateway = config.gateway.id
        self._workflow = workflow
        self._on_rejected = on_rejected
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client = make_client(
            config.broker, f"careedge-edge-{self._site}-{self._gateway}-cmd", persistent=True
        )
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        connect_async(self._client, self._config.broker, persistent=True)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def handle(self, payload: bytes) -> dict[str, Any]:
        """Record one command and say what became of it; never raises for bad input."""
        try:
            command = DispenseCommand.model_validate_json(payload)
        except ValidationError as exc:
            self._on_rejected("invalid_command")
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "(root)"
            log.warning("dispense command rejected at %s: %s", where, first["msg"])
            return {"status": "rejected", "error": f"{where}: {first['msg']}"}
        try:
            dose, new = self._workflow.accept(command.dose(), CLOUD_ACTOR)
        except ValueError as exc:
            self._on_rejected("unknown_cabinet_or_slot")
            return {"command_id": command.command_id, "status": "rejected", "error": str(exc)}
        return {
            "command_id": command.command_id,
            "status": "accepted" if new else "repeated",
            **dose_document(dose),
        }

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if not reason.is_failure:
            client.subscribe(topics.command(self._site, self._gateway, "dispense"), qos=1)

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._answer, bytes(message.payload))

    def _answer(self, payload: bytes) -> None:
        answer = self.handle(payload)
        command_id = answer.get("command_id")
        if command_id is not None:
            self._client.publish(
                topics.command_ack(self._site, self._gateway, command_id),
                json.dumps(answer, separators=(",", ":")).encode(),
                qos=1,
            )
