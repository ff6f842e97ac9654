"""Build paho-mqtt clients from the broker config, the same way for edge and bridge.

Protocol version, TLS, credentials and Last Will come from config only, so one code path runs
against Mosquitto/EMQX (MQTT 5) and the embedded demo broker (MQTT 3.1.1).
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from careedge_common.config import BrokerConfig, SecretError, TlsFiles, read_secret

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600
"""A persistent session outlives any outage we plan for (the outbox replay window is 7 days)."""
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 30


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


def is_v5(broker: BrokerConfig) -> bool:
    return broker.protocol == "5"


class TlsSetupError(SecretError):
    """A TLS file named by the broker config is missing, unreadable or not what it should be."""


def tls_context(tls: TlsFiles) -> ssl.SSLContext:
    """TLS 1.2 or later, the broker's certificate checked against the site CA and its host name,
    and the client's own certificate when the config names one (the broker requires it)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_verify_locations(cafile=str(tls.ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise TlsSetupError(
            f"broker.tls.ca_file: cannot load CA certificates from {tls.ca_file}: {exc}"
        ) from exc
    if tls.cert_file is not None and tls.key_file is not None:
        try:
            context.load_cert_chain(certfile=str(tls.cert_file), keyfile=str(tls.key_file))
        except (OSError, ssl.SSLError) as exc:
            raise TlsSetupError(
                f"broker.tls.cert_file/key_file: cannot load the client certificate {tls.cert_file} "
                f"with its key {tls.key_file}: {exc}"
            ) from exc
    return context


def make_client(
    broker: BrokerConfig,
    client_id: str,
    *,
    persistent: bool,
    manual_ack: bool = False,
    will: Will | None = None,
    client_class: type[mqtt.Client] = mqtt.Client,
) -> mqtt.Client:
    """A configured, not yet connected client. Raises ``SecretError`` if a password is unreadable
    (``TlsSetupError``, a subclass, for TLS files). Warns on every call for a plain-TCP broker.

    ``persistent`` must match the value later given to ``connect_async``; MQTT 3.1.1 fixes it here.
    ``client_class``: paho's ``Client`` or a subclass (``buffered_mqtt.BufferedClient``).
    """
    client = client_class(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if is_v5(broker) else mqtt.MQTTv311,
        clean_session=None if is_v5(broker) else not persistent,
        manual_ack=manual_ack,
    )
    if broker.tls is not None:
        client.tls_set_context(tls_context(broker.tls))
    else:
        log.warning(
            "broker %s:%d: plain TCP without TLS ('insecure: true'); health data and credentials "
            "cross the link in clear",
            broker.host,
            broker.port,
        )
    if broker.username is not None:
        password = read_secret(broker.password) if broker.password is not None else None
        client.username_pw_set(broker.username, password)
    if will is not None:
        client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
    client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
    client.max_inflight_messages_set(broker.max_inflight)
    return client


def connect_async(
    client: mqtt.Client,
    broker: BrokerConfig,
    *,
    persistent: bool,
    receive_maximum: int | None = None,
) -> None:
    """Start connecting in the background; paho's loop thread retries until the broker answers.

    ``persistent`` keeps the broker-side session (subscriptions and unacknowledged messages) across
    disconnects: MQTT 5 clean start off with a session expiry, MQTT 3.1.1 clean session off.
    """
    properties: Properties | None = None
    if is_v5(broker):
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        if persistent:
            properties.SessionExpiryInterval = SESSION_EXPIRY_S
        if receive_maximum is not None:
            properties.ReceiveMaximum = receive_maximum
    client.connect_async(
        broker.host,
        broker.port,
        keepalive=broker.keepalive_s,
        clean_start=not persistent if is_v5(broker) else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
        properties=properties,
    )


def publish_before_leaving(client: mqtt.Client, topic: str, payload: bytes, timeout_s: float) -> bool:
    """Publish a retained QoS 1 goodbye (a Last Will is only sent when a client dies) and wait up to
    ``timeout_s`` for the broker's PUBACK; returns whether it came."""
    info = client.publish(topic, payload, qos=1, retain=True)
    with contextlib.suppress(RuntimeError, ValueError):
        info.wait_for_publish(timeout_s)
    return info.is_published()
