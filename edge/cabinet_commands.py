"""The cloud's dispense commands (``.../cmd/dispense``) and their answers (``.../cmd-ack/{id}``).

A command is recorded (``DispenseWorkflow.accept``) before it is answered; a repeat with the same
``command_id`` (the cloud heard no answer, the broker redelivered) is answered with the recorded
state and changes nothing. The publisher subscribes and publishes the answers
(``Publisher.handle_commands``) straight to the broker, not through the outbox: they are not
events, and a lost answer (or a command sent while the edge was offline) is recovered by the cloud
repeating its command.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from careedge_common import topics
from careedge_common.config import SUBJECT_PATTERN
from drivers.contract import RejectCounter
from edge.audit import CLOUD_ACTOR
from edge.commands import Reply
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


class DispenseCommands:
    def __init__(
        self, site: str, gateway: str, workflow: DispenseWorkflow, on_rejected: RejectCounter
    ) -> None:
        """``on_rejected(reason)`` counts a command that could not be used."""
        self._site = site
        self._gateway = gateway
        self._workflow = workflow
        self._on_rejected = on_rejected

    def handle_command(self, payload: bytes) -> Reply | None:
        """A ``CommandHandler``: the answer on ``cmd-ack/{command_id}``, None without a usable ID."""
        answer = self.answer(payload)
        command_id = answer.get("command_id")
        if command_id is None:
            return None
        topic = topics.cmd_ack(self._site, self._gateway, command_id)
        return Reply(topic, json.dumps(answer, separators=(",", ":")).encode())

    def answer(self, payload: bytes) -> dict[str, Any]:
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
        status = "accepted" if new else "repeated"
        return {"command_id": command.command_id, "status": status, **dose_document(dose)}
