"""The shape of a command handler, shared by the publisher (which owns the MQTT link) and the
modules that act on commands, so neither imports the other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reply:
    """What to publish (QoS 1) in answer to a command, normally on its ``cmd-ack`` topic."""

    topic: str
    payload: bytes


CommandHandler = Callable[[bytes], Reply | None]
"""Called on the daemon's event loop with a command's payload; None when there is nothing to say."""
