"""The demo's in-process MQTT broker (amqtt, MQTT 3.1.1 only), so the demo needs no server installed.

Production and tests use Mosquitto; this exists only so ``careedge demo`` runs on a bare machine.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any, Self

from amqtt.broker import Broker

LOOPBACK = "127.0.0.1"


class EmbeddedBroker:
    def __init__(self, port: int) -> None:
        self.port = port
        config: dict[str, Any] = {
            "listeners": {"default": {"type": "tcp", "bind": f"{LOOPBACK}:{port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        self._config = config
        self._broker: Broker | None = None

    async def __aenter__(self) -> Self:
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._broker = Broker(self._config)
        await self._broker.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
