"""Signed config bundles at the edge: only the site key's signature over this gateway's valid config
is taken, the last good config stays in force otherwise, and every offer is answered on cmd-ack."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client import CollectorRegistry, Counter

from careedge_common.config import SiteConfig
from edge.config_bundle import BundleRejected, assemble_bundle, bundle_body, verify_bundle
from edge.config_updates import ACCEPTED_FILE, ConfigUpdates, startup_config

SITE = "home-a"
GATEWAY = "gw-1"


def config_text(log_level: str = "INFO", gateway: str = GATEWAY) -> str:
    return (
        f"site: {{id: {SITE}}}\n"
        "broker: {insecure: true}\n"
        f"gateway: {{id: {gateway}, pseudonym_secret_file: /etc/careedge/secret}}\n"
        f"log_level: {log_level}\n"
    )


def signed(key: Ed25519PrivateKey, version: int, text: str | None = None, gateway: str = GATEWAY) -> bytes:
    body = bundle_body(SITE, gateway, version, datetime.now(UTC), text or config_text())
    return assemble_bundle(body, key.sign(body))


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def updates_for(key: Ed25519PrivateKey, data_dir: Path, running_version: int = 0) -> ConfigUpdates:
    results = Counter("bundles", "offers", ["result", "reason"], registry=CollectorRegistry())
    return ConfigUpdates(key.public_key(), SITE, GATEWAY, data_dir, running_version, results)


def rejection(updates: ConfigUpdates, data: bytes) -> str:
    with pytest.raises(BundleRejected) as info:
        updates.offer(data)
    return info.value.reason


def test_valid_bundle_is_accepted_and_kept_for_the_next_start(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    updates = updates_for(key, tmp_path)
    accepted = updates.offer(signed(key, 1, config_text("DEBUG")))
    assert (accepted.version, accepted.config.log_level) == (1, "DEBUG")
    assert (tmp_path / ACCEPTED_FILE).read_bytes() == accepted.bundle
    restarted = updates_for(key, tmp_path)
    started_with = SiteConfig.model_validate(
        {
            "site": {"id": SITE},
            "broker": {"insecure": True},
            "gateway": {"id": GATEWAY, "pseudonym_secret_file": "/s"},
        }
    )
    assert startup_config(restarted, started_with).log_level == "DEBUG"
    assert restarted.running_version == 1


def test_tampered_bundle_is_rejected_and_the_old_config_stays(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    updates = updates_for(key, tmp_path)
    good = updates.offer(signed(key, 1))
    document = json.loads(signed(key, 2, config_text("DEBUG")))
    body = base64.b64decode(document["body"]).replace(b"DEBUG", b"ERROR")
    document["body"] = base64.b64encode(body).decode()
    assert rejection(updates, json.dumps(document).encode()) == "bad_signature"
    assert updates.held == good
    assert (tmp_path / ACCEPTED_FILE).read_bytes() == good.bundle


def test_unsigned_and_foreign_signed_bundles_are_rejected(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    updates = updates_for(key, tmp_path)
    document = json.loads(signed(key, 1))
    del document["signature"]
    assert rejection(updates, json.dumps(document).encode()) == "unsigned"
    assert rejection(updates, signed(Ed25519PrivateKey.generate(), 1)) == "bad_signature"
    assert rejection(updates, b"\x00not json") == "malformed"
    assert updates.held is None
    assert not (tmp_path / ACCEPTED_FILE).exists()


def test_signed_but_invalid_or_foreign_config_is_rejected(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    updates = updates_for(key, tmp_path)
    good = updates.offer(signed(key, 1))
    assert rejection(updates, signed(key, 2, config_text("LOUD"))) == "invalid_config"
    assert rejection(updates, signed(key, 2, gateway="gw-2")) == "wrong_target"
    assert rejection(updates, signed(key, 2, config_text(gateway="gw-2"))) == "invalid_config"
    assert updates.held == good


def test_an_older_or_equal_version_cannot_roll_the_gateway_back(
    key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    updates = updates_for(key, tmp_path, running_version=3)
    assert rejection(updates, signed(key, 3)) == "stale"
    assert updates.offer(signed(key, 4)).version == 4
    assert rejection(updates, signed(key, 4, config_text("DEBUG"))) == "stale"


def test_a_stored_bundle_edited_on_disk_is_ignored_at_start(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    updates_for(key, tmp_path).offer(signed(key, 1, config_text("DEBUG")))
    stored = tmp_path / ACCEPTED_FILE
    stored.write_bytes(stored.read_bytes().replace(b'"signature": "', b'"signature": "AAAA'))
    restarted = updates_for(key, tmp_path)
    assert restarted.held_bundle() is None


def test_command_results_are_acknowledged_on_cmd_ack(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    updates = updates_for(key, tmp_path)
    command = {"command_id": "c-1", "bundle": json.loads(signed(key, 1))}
    reply = updates.handle_command(json.dumps(command).encode())
    assert reply is not None
    assert reply.topic == f"careedge/v1/{SITE}/{GATEWAY}/cmd-ack/c-1"
    assert json.loads(reply.payload) == {
        "v": 1,
        "command_id": "c-1",
        "result": "accepted",
        "version": 1,
        "applies": "restart",
    }
    unsigned = {"command_id": "c-2", "bundle": {**json.loads(signed(key, 2)), "signature": ""}}
    reply = updates.handle_command(json.dumps(unsigned).encode())
    assert reply is not None
    ack = json.loads(reply.payload)
    assert (ack["result"], ack["reason"], ack["version"]) == ("rejected", "unsigned", 1)


@pytest.mark.parametrize("payload", [b"{}", b"[]", b'{"command_id": "a/#"}', b"\xff"])
def test_a_command_without_a_usable_id_gets_no_ack(
    key: Ed25519PrivateKey, tmp_path: Path, payload: bytes
) -> None:
    assert updates_for(key, tmp_path).handle_command(payload) is None


def test_starting_from_a_bundle_takes_site_and_gateway_from_it(key: Ed25519PrivateKey) -> None:
    started = verify_bundle(signed(key, 5), key.public_key(), site=None, gateway=None)
    assert (started.site, started.gateway, started.version) == (SITE, GATEWAY, 5)
