"""The test broker itself: tests of outages rely on it keeping persistent sessions across a restart."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from careedge_testkit.servers import LOOPBACK, Mosquitto


def _session_present(port: int, subscribe: str | None) -> bool:
    connected = threading.Event()
    subscribed = threading.Event()
    present: list[bool] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="persistent-1", protocol=mqtt.MQTTv5)
    client.on_connect = lambda _c, _u, flags, _rc, _p: (
        present.append(flags.session_present),
        connected.set(),
    )
    client.on_subscribe = lambda *_: subscribed.set()
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 3600
    client.connect(LOOPBACK, port, clean_start=False, properties=properties)
    client.loop_start()
    try:
        assert connected.wait(10)
        if subscribe is not None:
            client.subscribe(subscribe, 1)
            assert subscribed.wait(10)
    finally:
        client.disconnect()
        client.loop_stop()
    return present[0]


def test_a_persistent_session_survives_a_broker_restart() -> None:
    with Mosquitto() as broker:
        assert not _session_present(broker.port, "$share/careedge-bridge/careedge/v1/#")
        broker.restart()
        assert _session_present(broker.port, None)
