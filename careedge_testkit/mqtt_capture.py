"""A subscriber that records what a broker delivers, for tests and the demo's live view."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from careedge_testkit.servers import LOOPBACK, wait_until


@dataclass(frozen=True, slots=True)
class Captured:
    topic: str
    payload: bytes
    retain: bool


class MqttCapture:
    def __init__(
        self,
        port: int,
        topic_filters: list[str],
        *,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
        on_message: Callable[[Captured], None] | None = None,
    ) -> None:
        self._filters = topic_filters
        self._lock = threading.Lock()
        self._messages: list[Captured] = []
        self._subscribed = threading.Event()
        self._callback = on_message
        self._port = port
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=protocol)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    def start(self) -> Self:
        self._client.connect(LOOPBACK, self._port)
        self._client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("capture did not get its subscription acknowledged")
        return self

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    @property
    def messages(self) -> list[Captured]:
        with self._lock:
            return list(self._messages)

    def wait_for(self, predicate: Callable[[list[Captured]], Any], timeout: float, what: str) -> Any:
        return wait_until(lambda: predicate(self.messages), timeout, what)

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, _rc: ReasonCode, _p: Any) -> None:
        client.subscribe([(topic, 1) for topic in self._filters])

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, _rc: list[ReasonCode], _p: Any) -> None:
        self._subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        captured = Captured(message.topic, bytes(message.payload), bool(message.retain))
        with self._lock:
            self._messages.append(captured)
        if self._callback is not None:
            self._callback(captured)
