"""The edge daemon over mutual TLS, started from a signed bundle, answering ``cmd/config`` from the
bridge's identity on ``cmd-ack``: tampered and stale bundles rejected, a newer one kept for restart."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

from provision_kit import SITE, Probe, client_config, quiet

from careedge.provision import operations
from careedge.provision.store import ProvisionStore
from careedge_common import topics
from careedge_testkit.processes import Daemon
from careedge_testkit.servers import Mosquitto, free_port, wait_until
from edge.config_updates import ACCEPTED_FILE

GATEWAY = "gw-1"


def edge_config_text(site: ProvisionStore, broker: Mosquitto, tmp_path: Path, log_level: str) -> str:
    folder = site.device_dir("gateway", GATEWAY).resolve()
    secret = tmp_path / "pseudonym.key"
    secret.write_bytes(secrets.token_bytes(32))
    document: dict[str, Any] = {
        "site": {"id": SITE},
        "broker": {
            "host": "127.0.0.1",
            "port": broker.port,
            "keepalive_s": 5,
            "tls": {
                "ca_file": str(folder / "ca.pem"),
                "cert_file": str(folder / f"{GATEWAY}.pem"),
                "key_file": str(folder / f"{GATEWAY}.key"),
            },
        },
        "gateway": {
            "id": GATEWAY,
            "data_dir": str(tmp_path / "data"),
            "pseudonym_secret_file": str(secret),
            "api": {"port": free_port()},
            "config_signing": {"public_key_file": str(folder / "site-signing.pub")},
        },
        "log_level": log_level,
    }
    return json.dumps(document)


def command(command_id: str, bundle: bytes) -> bytes:
    return json.dumps({"command_id": command_id, "bundle": json.loads(bundle)}).encode()


def online(bridge: Probe) -> bool:
    state = topics.state(SITE, GATEWAY)
    return any(t == state and json.loads(p)["status"] == "online" for t, p in list(bridge.messages))


def ack(bridge: Probe, command_id: str) -> dict[str, Any]:
    topic = topics.cmd_ack(SITE, GATEWAY, command_id)
    found = wait_until(
        lambda: [payload for t, payload in list(bridge.messages) if t == topic],
        20,
        f"cmd-ack of {command_id}",
    )
    return json.loads(found[0])  # type: ignore[no-any-return]


def test_edge_takes_only_signed_newer_configs_over_mqtt(
    site: ProvisionStore, tls_broker: Mosquitto, tmp_path: Path
) -> None:
    first = operations.sign_bundle(site, GATEWAY, edge_config_text(site, tls_broker, tmp_path, "INFO"), quiet)
    second = operations.sign_bundle(
        site, GATEWAY, edge_config_text(site, tls_broker, tmp_path, "DEBUG"), quiet
    )
    tampered = json.loads(second.read_bytes())
    body = base64.b64decode(tampered["body"]).replace(b"DEBUG", b"ERROR")
    tampered["body"] = base64.b64encode(body).decode()
    site_key = ["--site-key", str(site.signing_public)]
    with Probe(client_config(site, tls_broker, "bridge", "bridge-1"), "bridge-1") as bridge:
        assert bridge.outcome() == "connected"
        assert not bridge.subscribe(f"{topics.gateway_root(SITE, GATEWAY)}/#").is_failure
        with Daemon("edge", first, site_key) as edge:
            wait_until(lambda: online(bridge), 30, "the edge's birth document over TLS")
            bridge.publish(
                topics.cmd(SITE, GATEWAY, "config"),
                json.dumps({"command_id": "c-1", "bundle": tampered}).encode(),
            )
            rejected = ack(bridge, "c-1")
            assert (rejected["result"], rejected["reason"]) == ("rejected", "bad_signature")
            bridge.publish(topics.cmd(SITE, GATEWAY, "config"), command("c-2", first.read_bytes()))
            assert ack(bridge, "c-2")["reason"] == "stale"
            bridge.publish(topics.cmd(SITE, GATEWAY, "config"), command("c-3", second.read_bytes()))
            assert ack(bridge, "c-3") == {
                "v": 1,
                "command_id": "c-3",
                "result": "accepted",
                "version": 2,
                "applies": "restart",
            }
        assert edge.process is not None
        assert edge.process.returncode == 0
    assert json.loads((tmp_path / "data" / ACCEPTED_FILE).read_bytes()) == json.loads(second.read_bytes())
    with Daemon("edge", first, site_key) as restarted:
        wait_until(lambda: "running config version 2" in restarted.log(), 30, "the edge to run version 2")
