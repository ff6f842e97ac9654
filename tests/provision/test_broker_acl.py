"""Mosquitto configured only by ``careedge provision``: mutual TLS, per-gateway identities, ACLs, CRL."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from provision_kit import SITE, GeneratedConfigMosquitto, Probe, client_config, quiet

from careedge.provision import operations
from careedge.provision.mosquitto import acl_file
from careedge.provision.store import ProvisionStore
from careedge_common import topics
from careedge_common.config import BridgeConfig, SqliteSink
from careedge_testkit.servers import Mosquitto, wait_until
from cloud_bridge.bridge_presence import birth_document
from cloud_bridge.session_takeover import Outcome, SessionTakeover, TakeoverHooks
from cloud_bridge.subscriber import Incoming, Subscriber

NOT_AUTHORIZED = 0x87


def test_gateway_reaches_the_bridge_only_below_its_own_root(
    site: ProvisionStore, tls_broker: Mosquitto, tmp_path: Path
) -> None:
    received: list[Incoming] = []
    bridge = Subscriber(
        SITE,
        client_config(site, tls_broker, "bridge", "bridge-1"),
        BridgeConfig(
            client_id="bridge-1",
            sink=SqliteSink(kind="sqlite", path=tmp_path / "p.db"),
            store_path=tmp_path / "b.db",
        ),
        received.append,
        lambda: None,
        lambda _count: None,
    )
    bridge.start()
    try:
        wait_until(lambda: bridge.connected, 10, "the bridge to connect over TLS")
        with Probe(client_config(site, tls_broker, "gateway", "gw-1"), "gw-1") as gateway:
            assert gateway.outcome() == "connected"
            own = topics.vitals(SITE, "gw-1", "kiosk-1")
            foreign = topics.vitals(SITE, "gw-2", "kiosk-1")
            assert not gateway.publish(own, b'{"n": 1}').is_failure
            assert gateway.publish(foreign, b'{"n": "forged"}').value == NOT_AUTHORIZED
            assert not gateway.publish(own, b'{"n": 2}').is_failure
            wait_until(lambda: len(received) >= 2, 10, "the bridge to receive the gateway's own vitals")
    finally:
        bridge.stop()
    assert [(m.topic, json.loads(m.payload)["n"]) for m in received] == [(own, 1), (own, 2)]


def test_gateway_never_receives_another_sites_alerts(site: ProvisionStore, tls_broker: Mosquitto) -> None:
    """Mosquitto 2.0 grants the SUBACK and applies the ACL to each message it would deliver."""
    operations.issue(site, "bridge", "bridge-b", None, False, quiet)
    two_sites = acl_file(SITE, ["gw-1", "gw-2"], ["bridge-1"]) + acl_file("home-b", [], ["bridge-b"])
    (site.broker_dir / "acl").write_text(two_sites, encoding="utf-8")
    tls_broker.restart()
    with (
        Probe(client_config(site, tls_broker, "gateway", "gw-1"), "gw-1") as gateway,
        Probe(client_config(site, tls_broker, "bridge", "bridge-b"), "bridge-b") as other_site,
        Probe(client_config(site, tls_broker, "bridge", "bridge-1"), "bridge-1") as own_site,
    ):
        assert {gateway.outcome(), other_site.outcome(), own_site.outcome()} == {"connected"}
        for topic_filter in (
            topics.alerts("home-b"),
            f"{topics.ROOT}/+/alerts",
            topics.cmd(SITE, "gw-1", "#"),
        ):
            assert not gateway.subscribe(topic_filter).is_failure
        assert not other_site.publish(topics.alerts("home-b"), b"resident alert of home-b").is_failure
        assert not own_site.publish(topics.alerts(SITE), b"resident alert of home-a").is_failure
        assert not own_site.publish(topics.cmd(SITE, "gw-1", "marker"), b"marker").is_failure
        wait_until(lambda: gateway.messages, 10, "the gateway to receive its own command")
    assert gateway.messages == [(topics.cmd(SITE, "gw-1", "marker"), b"marker")]


def test_bridge_writes_commands_and_alerts_but_not_vitals(
    site: ProvisionStore, tls_broker: Mosquitto
) -> None:
    with Probe(client_config(site, tls_broker, "bridge", "bridge-1"), "bridge-1") as bridge:
        assert bridge.outcome() == "connected"
        assert not bridge.publish(topics.cmd(SITE, "gw-1", "config"), b"{}").is_failure
        assert not bridge.publish(topics.alerts(SITE), b"{}").is_failure
        assert bridge.publish(topics.vitals(SITE, "gw-1", "kiosk-1"), b"{}").value == NOT_AUTHORIZED
        assert bridge.publish(topics.alerts("home-b"), b"{}").value == NOT_AUTHORIZED


def test_revoked_gateway_cannot_connect_after_the_broker_restarts(
    site: ProvisionStore, tls_broker: Mosquitto
) -> None:
    with Probe(client_config(site, tls_broker, "gateway", "gw-1"), "gw-1") as before:
        assert before.outcome() == "connected"
    operations.revoke(site, "gateway", "gw-1", quiet)
    tls_broker.restart()
    with Probe(client_config(site, tls_broker, "gateway", "gw-1"), "gw-1") as revoked:
        assert revoked.outcome() == "refused"
        assert revoked.connack is None
    with Probe(client_config(site, tls_broker, "gateway", "gw-2"), "gw-2") as other:
        assert other.outcome() == "connected"


def test_connection_without_client_certificate_is_refused(
    site: ProvisionStore, tls_broker: Mosquitto
) -> None:
    config = client_config(site, tls_broker, "gateway", "gw-1", with_cert=False)
    with Probe(config, "anonymous") as anonymous:
        assert anonymous.outcome() == "refused"
        assert anonymous.connack is None


def test_the_generated_listener_config_runs_as_written(site: ProvisionStore) -> None:
    with GeneratedConfigMosquitto(site) as broker:
        assert "allow_anonymous false" in (site.broker_dir / "careedge-listener.conf").read_text()
        with Probe(client_config(site, broker, "gateway", "gw-1"), "gw-1") as gateway:
            assert gateway.outcome() == "connected"
            assert not gateway.publish(topics.vitals(SITE, "gw-1", "kiosk-1"), b"{}").is_failure
            assert gateway.publish(topics.vitals(SITE, "gw-2", "kiosk-1"), b"{}").value == NOT_AUTHORIZED
        with Probe(client_config(site, broker, "gateway", "gw-1", with_cert=False), "anonymous") as anonymous:
            assert anonymous.outcome() == "refused"


def test_a_bridge_writes_its_own_member_state_only(site: ProvisionStore, tls_broker: Mosquitto) -> None:
    own, peer = topics.bridge_member_state(SITE, "bridge-1"), topics.bridge_member_state(SITE, "bridge-2")
    with (
        Probe(client_config(site, tls_broker, "bridge", "bridge-1"), "bridge-1") as bridge,
        Probe(client_config(site, tls_broker, "gateway", "gw-1"), "gw-1") as gateway,
    ):
        assert {bridge.outcome(), gateway.outcome()} == {"connected"}
        assert not bridge.publish(own, birth_document("bridge-1")).is_failure
        assert bridge.publish(peer, b"offline").value == NOT_AUTHORIZED
        assert gateway.publish(own, b"offline").value == NOT_AUTHORIZED


def test_a_bridge_resumes_a_dead_peers_session_under_its_own_certificate(
    site: ProvisionStore, tls_broker: Mosquitto, tmp_path: Path
) -> None:
    operations.issue(site, "bridge", "bridge-2", None, False, quiet)
    tls_broker.restart()
    peer_config = client_config(site, tls_broker, "bridge", "bridge-1")
    settings = BridgeConfig(
        client_id="bridge-1",
        sink=SqliteSink(kind="sqlite", path=tmp_path / "p.db"),
        store_path=tmp_path / "b.db",
    )
    peer = Subscriber(SITE, peer_config, settings, lambda _m: None, lambda: None, lambda _n: None)
    peer.start()
    wait_until(peer.subscribed.is_set, 10, "bridge-1 to subscribe")
    peer.stop()
    vitals = topics.vitals(SITE, "gw-1", "kiosk-1")
    with Probe(client_config(site, tls_broker, "gateway", "gw-1"), "gw-1") as gateway:
        for number in range(3):
            assert not gateway.publish(vitals, f'{{"n": {number}}}'.encode()).is_failure
    taken: list[Incoming] = []

    def deliver(message: Incoming) -> None:
        taken.append(message)
        takeover.release([message])

    takeover = SessionTakeover(
        "bridge-1",
        client_config(site, tls_broker, "bridge", "bridge-2"),
        settings.receive_maximum,
        topics.bridge_ingest_filters(SITE, share=True),
        1.0,
        TakeoverHooks(deliver, lambda: None, lambda _n: None),
        threading.Event(),
    )
    assert takeover.run() is Outcome.DRAINED
    assert [json.loads(message.payload)["n"] for message in taken] == [0, 1, 2]
    with Probe(client_config(site, tls_broker, "gateway", "gw-1"), "gw-1") as gateway:
        assert not gateway.publish(vitals, b'{"n": "to an unsubscribed session"}').is_failure
    returned: list[Incoming] = []
    back = Subscriber(SITE, peer_config, settings, returned.append, lambda: None, lambda _n: None)
    back.start()
    try:
        wait_until(back.subscribed.is_set, 10, "bridge-1 to subscribe again")
        with Probe(client_config(site, tls_broker, "gateway", "gw-1"), "gw-1") as gateway:
            assert not gateway.publish(vitals, b'{"n": "marker"}').is_failure
        wait_until(lambda: returned, 10, "bridge-1 to receive the marker")
    finally:
        back.stop()
    assert [json.loads(message.payload)["n"] for message in returned] == ["marker"]
