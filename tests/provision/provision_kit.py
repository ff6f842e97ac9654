"""Helpers for the provisioning tests: a provisioned site, Mosquitto configured by its output, and
an MQTT client built by the same factory as the edge and the bridge that records what happened."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from careedge.provision import operations
from careedge.provision.mosquitto import listener_options
from careedge.provision.store import Kind, ProvisionSettings, ProvisionStore
from careedge_common.config import BrokerConfig, TlsFiles
from careedge_common.mqtt_client import connect_async, make_client
from careedge_testkit.servers import LOOPBACK, Mosquitto, wait_until

SITE = "home-a"
TIMEOUT = 10.0


def quiet(_line: str) -> None:
    """Progress lines are for technicians; tests check files and behaviour."""


def provision_site(root: Path, gateways: tuple[str, ...] = ("gw-1", "gw-2")) -> ProvisionStore:
    """CA, gateways, one bridge and the broker's files for 127.0.0.1, as a technician would run it."""
    store = ProvisionStore(root)
    operations.create_ca(store, ProvisionSettings(site=SITE), quiet)
    for gateway in gateways:
        operations.issue(store, "gateway", gateway, None, False, quiet)
    operations.issue(store, "bridge", "bridge-1", None, False, quiet)
    operations.write_broker(store, (LOOPBACK,), 8883, LOOPBACK, None, quiet)
    return store


def tls_mosquitto(store: ProvisionStore) -> Mosquitto:
    """Mosquitto whose one listener is the provisioned one (mutual TLS, CRL, ACL file)."""
    broker = store.broker_dir.resolve()
    files = operations.listener_files(broker)
    return Mosquitto(extra_config=listener_options(files))


def client_config(
    store: ProvisionStore, broker: Mosquitto, kind: Kind, identity: str, *, with_cert: bool = True
) -> BrokerConfig:
    folder = store.device_dir(kind, identity)
    tls = TlsFiles(
        ca_file=folder / "ca.pem",
        cert_file=folder / f"{identity}.pem" if with_cert else None,
        key_file=folder / f"{identity}.key" if with_cert else None,
    )
    return BrokerConfig(host=LOOPBACK, port=broker.port, tls=tls, keepalive_s=5)


class Probe:
    """One MQTT v5 client recording CONNACK, SUBACK and PUBACK reason codes and messages."""

    def __init__(self, broker: BrokerConfig, client_id: str) -> None:
        self._broker = broker
        self._lock = threading.Lock()
        self.connack: ReasonCode | None = None
        self.failures = 0
        self.subacks: dict[int, list[ReasonCode]] = {}
        self.pubacks: dict[int, ReasonCode] = {}
        self.messages: list[tuple[str, bytes]] = []
        self.client = make_client(broker, client_id, persistent=False)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message

    def start(self) -> Self:
        connect_async(self.client, self._broker, persistent=False)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def outcome(self) -> str:
        """'connected' or 'refused', whichever the broker says first."""
        return str(wait_until(self._outcome, TIMEOUT, "the broker to accept or refuse the connection"))

    def _outcome(self) -> str | None:
        if self.connack is not None:
            return "refused" if self.connack.is_failure else "connected"
        return "refused" if self.failures else None

    def subscribe(self, topic: str) -> ReasonCode:
        _result, mid = self.client.subscribe(topic, qos=1)
        [code] = wait_until(lambda: self.subacks.get(mid), TIMEOUT, f"SUBACK for {topic}")
        return code  # type: ignore[no-any-return]

    def publish(self, topic: str, payload: bytes) -> ReasonCode:
        info = self.client.publish(topic, payload, qos=1)
        return wait_until(lambda: self.pubacks.get(info.mid), TIMEOUT, f"PUBACK for {topic}")  # type: ignore[no-any-return]

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        self.connack = reason

    def _on_connect_fail(self, _c: mqtt.Client, _u: Any) -> None:
        self.failures += 1

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, _reason: ReasonCode, _p: Any) -> None:
        if self.connack is None:
            self.failures += 1

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, mid: int, codes: list[ReasonCode], _p: Any) -> None:
        self.subacks[mid] = codes

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, reason: ReasonCode, _p: Any) -> None:
        self.pubacks[mid] = reason

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload)))


class GeneratedConfigMosquitto(Mosquitto):
    """Mosquitto run on ``careedge-listener.conf`` exactly as ``provision broker`` wrote it."""

    def __init__(self, store: ProvisionStore) -> None:
        super().__init__()
        self.store = store

    def _command(self) -> list[str]:
        operations.write_broker(self.store, (LOOPBACK,), self.port, LOOPBACK, None, quiet)
        listener = (self.store.broker_dir / "careedge-listener.conf").read_text(encoding="utf-8")
        config = self.workdir / "careedge-only.conf"
        config.write_text(f"user root\n{listener}", encoding="utf-8")
        return [*super()._command()[:-1], str(config)]
