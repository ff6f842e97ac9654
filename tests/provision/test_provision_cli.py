"""``careedge provision`` as a technician runs it: progress lines, specific errors, 0600 secrets that
never reach the terminal, certificates that say who they belong to."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from provision_kit import SITE
from typer.testing import CliRunner, Result

from careedge.cli import app
from careedge.provision.store import ProvisionStore

runner = CliRunner()
EDGE_CONFIG = f"""\
site: {{id: {SITE}}}
broker: {{insecure: true}}
gateway: {{id: gw-1, pseudonym_secret_file: /etc/careedge/secret}}
"""


def provision(directory: Path, *args: str) -> Result:
    return runner.invoke(app, ["provision", *args, "--dir", str(directory)])


def ok(directory: Path, *args: str) -> str:
    result = provision(directory, *args)
    assert result.exit_code == 0, result.output
    assert "PRIVATE KEY" not in result.output
    return result.stdout


def error(directory: Path, *args: str) -> str:
    result = provision(directory, *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.stderr.strip()


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    root = tmp_path / "provisioning"
    ok(root, "ca", "create", "--site", SITE, "--gateway-days", "30")
    return root


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secrets_are_0600_and_certificates_name_the_gateway(directory: Path) -> None:
    out = ok(directory, "gateway", "issue", "gw-1")
    store = ProvisionStore(directory)
    folder = store.device_dir("gateway", "gw-1")
    assert "issued gateway certificate CN=gw-1" in out
    for secret in (store.ca_key, store.signing_key, folder / "gw-1.key"):
        assert mode(secret) == 0o600, secret
    assert mode(folder) == 0o700
    certificate = x509.load_pem_x509_certificate((folder / "gw-1.pem").read_bytes())
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "gw-1"
    assert certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == SITE
    lifetime = certificate.not_valid_after_utc - datetime.now(UTC)
    assert timedelta(days=29) < lifetime <= timedelta(days=30)
    assert (folder / "site-signing.pub").read_bytes() == store.signing_public.read_bytes()


def test_days_option_overrides_the_provisioning_config(directory: Path) -> None:
    ok(directory, "bridge", "issue", "bridge-1", "--days", "7")
    pem = (ProvisionStore(directory).device_dir("bridge", "bridge-1") / "bridge-1.pem").read_bytes()
    lifetime = x509.load_pem_x509_certificate(pem).not_valid_after_utc - datetime.now(UTC)
    assert timedelta(days=6) < lifetime <= timedelta(days=7)


def test_mistakes_get_one_specific_line(directory: Path, tmp_path: Path) -> None:
    assert "run `careedge provision ca create" in error(tmp_path / "empty", "gateway", "issue", "gw-1")
    assert "already holds a site CA" in error(directory, "ca", "create", "--site", SITE)
    assert "is not an ID" in error(directory, "gateway", "issue", "GW 1")
    assert "topic level of the site" in error(directory, "gateway", "issue", "alerts")
    ok(directory, "gateway", "issue", "gw-1")
    assert "use --renew" in error(directory, "gateway", "issue", "gw-1")
    assert "already a gateway" in error(directory, "bridge", "issue", "gw-1")
    assert "no certificate in force" in error(directory, "gateway", "revoke", "gw-9")


def test_renew_revokes_the_previous_certificate(directory: Path) -> None:
    ok(directory, "gateway", "issue", "gw-1")
    first = ProvisionStore(directory).inventory().active("gateway", "gw-1")
    assert "is revoked" in ok(directory, "gateway", "issue", "gw-1", "--renew")
    store = ProvisionStore(directory)
    assert first is not None
    assert first.serial in store.inventory().revoked()
    crl = x509.load_pem_x509_crl(store.crl.read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(first.serial) is not None


def test_broker_files_and_acl_follow_issue_and_revoke(directory: Path) -> None:
    ok(directory, "gateway", "issue", "gw-1")
    ok(directory, "gateway", "issue", "gw-2")
    ok(directory, "bridge", "issue", "bridge-1")
    ok(directory, "broker", "--host", "mqtt.home-a.example", "--install-dir", "/etc/mosquitto/careedge")
    broker = ProvisionStore(directory).broker_dir
    listener = (broker / "careedge-listener.conf").read_text()
    for line in (
        "listener 8883 0.0.0.0",
        "require_certificate true",
        "use_identity_as_username true",
        "tls_version tlsv1.2",
        "crlfile /etc/mosquitto/careedge/crl.pem",
        "acl_file /etc/mosquitto/careedge/acl",
    ):
        assert line in listener.splitlines()
    assert mode(broker / "server.key") == 0o600
    assert "user gw-2\ntopic write careedge/v1/home-a/gw-2/#\n" in (broker / "acl").read_text()
    out = ok(directory, "gateway", "revoke", "gw-2")
    assert "restart Mosquitto" in out
    assert "user gw-2" not in (broker / "acl").read_text()
    assert (broker / "crl.pem").read_bytes() == ProvisionStore(directory).crl.read_bytes()


def test_import_takes_an_existing_ca_and_refuses_a_leaf(directory: Path, tmp_path: Path) -> None:
    store = ProvisionStore(directory)
    imported = tmp_path / "imported"
    args = ("ca", "import", "--site", SITE, "--cert", str(store.ca_cert), "--key", str(store.ca_key))
    assert "imported site CA" in ok(imported, *args)
    assert ProvisionStore(imported).ca_cert.read_bytes() == store.ca_cert.read_bytes()
    ok(directory, "gateway", "issue", "gw-1")
    leaf = store.device_dir("gateway", "gw-1")
    leaf_args = (
        "ca",
        "import",
        "--site",
        SITE,
        "--cert",
        str(leaf / "gw-1.pem"),
        "--key",
        str(leaf / "gw-1.key"),
    )
    assert "not a CA certificate" in error(tmp_path / "leaf", *leaf_args)
    wrong_key = (
        "ca",
        "import",
        "--site",
        SITE,
        "--cert",
        str(store.ca_cert),
        "--key",
        str(leaf / "gw-1.key"),
    )
    assert "does not belong to the certificate" in error(tmp_path / "mismatch", *wrong_key)


def test_bundle_numbers_versions_and_checks_the_config(directory: Path, tmp_path: Path) -> None:
    config = tmp_path / "gw-1.yaml"
    config.write_text(EDGE_CONFIG, encoding="utf-8")
    assert "no certificate in force" in error(directory, "bundle", "gw-1", "--config", str(config))
    ok(directory, "gateway", "issue", "gw-1")
    assert "signed config version 1" in ok(directory, "bundle", "gw-1", "--config", str(config))
    assert "signed config version 2" in ok(directory, "bundle", "gw-1", "--config", str(config))
    assert ProvisionStore(directory).bundle_path("gw-1", 2).exists()
    assert "must be the config of home-a/gw-2" in error(directory, "bundle", "gw-2", "--config", str(config))
    config.write_text(EDGE_CONFIG.replace("insecure: true", "port: 0"), encoding="utf-8")
    assert "the config is not valid" in error(directory, "bundle", "gw-1", "--config", str(config))


def test_show_lists_what_is_provisioned(directory: Path) -> None:
    ok(directory, "gateway", "issue", "gw-1")
    ok(directory, "gateway", "issue", "gw-2")
    ok(directory, "gateway", "revoke", "gw-2")
    lines = ok(directory, "show").splitlines()
    assert lines[0].startswith(f"site {SITE}")
    assert any(line.startswith("CRL      1 revoked") for line in lines)
    [gw1] = [line for line in lines if " gw-1 " in line]
    assert gw1.endswith("days left")
    [gw2] = [line for line in lines if " gw-2 " in line]
    assert "REVOKED" in gw2
