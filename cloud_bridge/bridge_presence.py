"""Which bridges of the site are alive: each announces itself and watches the others.

Every bridge process holds a small second MQTT connection whose retained birth document on
``careedge/v1/{site}/_bridges/{client_id}/state`` says it is online, and whose Last Will replaces it
with ``offline`` when the process dies or its link is cut. A clean stop publishes ``offline`` itself:
a stopped bridge's session keeps its shared subscription, so its share would queue there just the
same. A second connection because MQTT gives one Will per connection, and the ingest session's Will
is the site-wide ``bridge/state`` the gateways read (DESIGN §3). The connection has no session of
its own: on every (re)connect it announces itself again and the broker re-sends every peer's
retained state.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from careedge_common import topics
from careedge_common.config import BrokerConfig
from careedge_common.envelope import rfc3339, utc_now
from careedge_common.mqtt_client import Will, connect_async, make_client, publish_before_leaving

log = logging.getLogger(__name__)

OFFLINE = b"offline"
ONLINE = "online"
GOODBYE_TIMEOUT_S = 2.0
PRESENCE_SUFFIX = "/presence"
"""Appended to the bridge's client ID for this connection; ``/`` cannot occur in a configured ID."""


def birth_document(client_id: str) -> bytes:
    return json.dumps({"v": 1, "state": ONLINE, "client_id": client_id, "since": rfc3339(utc_now())}).encode()


def is_online(payload: bytes) -> bool | None:
    """True for a birth document, False for ``offline``, None for anything else."""
    if payload == OFFLINE:
        return False
    try:
        document = json.loads(payload)
    except ValueError:
        return None
    return True if isinstance(document, dict) and document.get("state") == ONLINE else None


class BridgePresence:
    def __init__(
        self,
        site: str,
        broker: BrokerConfig,
        client_id: str,
        on_peer: Callable[[str, bool], None],
        on_connected: Callable[[], None],
    ) -> None:
        """``on_peer(client_id, online)`` is called on paho's thread for every peer state received,
        retained ones included; ``on_connected`` after each (re)connect, before those states arrive.
        Raises ``SecretError`` when the broker password cannot be read."""
        self._site = site
        self._broker = broker
        self._client_id = client_id
        self._on_peer = on_peer
        self._on_connected = on_connected
        self._own_topic = topics.bridge_member_state(site, client_id)
        self._prefix, self._suffix = topics.bridge_member_state(site, "\0").split("\0")
        self._connected = False
        self._client = make_client(
            broker, client_id + PRESENCE_SUFFIX, persistent=False, will=Will(self._own_topic, OFFLINE)
        )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    def start(self) -> None:
        connect_async(self._client, self._broker, persistent=False)
        self._client.loop_start()

    def stop(self) -> None:
        """Say ``offline`` so the peers take over what this bridge's session still holds."""
        if self._connected and not publish_before_leaving(
            self._client, self._own_topic, OFFLINE, GOODBYE_TIMEOUT_S
        ):
            log.warning("the broker did not confirm this bridge's offline state to its peers")
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the presence connection: %s", reason)
            return
        self._connected = True
        self._on_connected()
        client.subscribe(topics.all_bridge_member_states(self._site), qos=1)
        client.publish(self._own_topic, birth_document(self._client_id), qos=1, retain=True)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        self._connected = False

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        peer = message.topic.removeprefix(self._prefix).removesuffix(self._suffix)
        if peer == self._client_id:
            return
        online = is_online(bytes(message.payload))
        if online is None:
            log.warning("ignored a bridge state on %s: neither a birth document nor offline", message.topic)
            return
        self._on_peer(peer, online)
