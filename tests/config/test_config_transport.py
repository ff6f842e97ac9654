"""Broker transport: TLS unless the file says ``insecure: true``, and then a warning at every start."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import pytest

from careedge.provision import pki
from careedge_common.config import BrokerConfig, TlsFiles
from careedge_common.mqtt_client import TlsSetupError, make_client, tls_context
from careedge_testkit.processes import Daemon, write_config


@pytest.mark.parametrize("command", ["edge", "bridge"])
def test_daemons_refuse_to_start_on_plain_tcp_without_insecure(tmp_path: Path, command: str) -> None:
    document = {
        "site": {"id": "home-a"},
        "broker": {"port": 1883},
        "gateway": {"id": "gw-1", "pseudonym_secret_file": str(tmp_path / "secret")},
        "bridge": {
            "sink": {"kind": "sqlite", "path": str(tmp_path / "p.db")},
            "store_path": str(tmp_path / "b.db"),
        },
    }
    daemon = Daemon(command, write_config(tmp_path / "site.yaml", document)).start()
    assert daemon.process is not None
    assert daemon.process.wait(60) == 2
    assert "broker: a 'tls' section (ca_file, cert_file, key_file), or 'insecure: true'" in daemon.log()
    assert "Traceback" not in daemon.log()


def test_insecure_broker_is_warned_about_at_every_client(caplog: pytest.LogCaptureFixture) -> None:
    broker = BrokerConfig(insecure=True)
    with caplog.at_level(logging.WARNING, logger="careedge_common.mqtt_client"):
        make_client(broker, "first", persistent=False)
        make_client(broker, "second", persistent=False)
    warnings = [r.getMessage() for r in caplog.records if "plain TCP without TLS" in r.getMessage()]
    assert len(warnings) == 2


def test_tls_context_is_tls12_or_later_and_names_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing-ca.pem"
    with pytest.raises(
        TlsSetupError, match=r"broker\.tls\.ca_file: cannot load CA certificates from .*missing-ca"
    ):
        tls_context(TlsFiles(ca_file=missing))


def test_tls_context_refuses_versions_below_1_2_and_checks_the_broker(tmp_path: Path) -> None:
    ca_key, ca_cert = pki.create_ca("home-a", 1)
    key, certificate = pki.issue(ca_key, ca_cert, "gw-1", "home-a", 1, "client")
    paths = {name: tmp_path / name for name in ("ca_file", "cert_file", "key_file")}
    paths["ca_file"].write_bytes(pki.certificate_pem(ca_cert))
    paths["cert_file"].write_bytes(pki.certificate_pem(certificate))
    paths["key_file"].write_bytes(pki.key_pem(key))
    context = tls_context(TlsFiles(**paths))
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
