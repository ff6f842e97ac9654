"""What each ``careedge provision`` command does, apart from parsing its options.

Every operation reports its steps through ``say`` (one line each, paths but never key material)
and raises ``ProvisionError`` or ``PkiError`` with a message a technician can act on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from careedge.provision import pki
from careedge.provision.mosquitto import RESERVED_IDS, ListenerFiles, acl_file, listener_config
from careedge.provision.store import (
    Inventory,
    Issued,
    Kind,
    ProvisionError,
    ProvisionSettings,
    ProvisionStore,
    write_public,
    write_secret,
)
from careedge_common.config_loader import ConfigError, parse_config
from edge.config_bundle import assemble_bundle, bundle_body

Say = Callable[[str], None]


def create_ca(store: ProvisionStore, settings: ProvisionSettings, say: Say) -> None:
    _refuse_existing_ca(store)
    key, certificate = pki.create_ca(settings.site, settings.ca_days)
    _install_ca(store, settings, key, certificate, say)
    say(f"created site CA {certificate.subject.rfc4514_string()} valid until {_day(certificate)}")


def import_ca(
    store: ProvisionStore, settings: ProvisionSettings, cert_file: Path, key_file: Path, say: Say
) -> None:
    _refuse_existing_ca(store)
    certificate = pki.load_certificate(store.read(cert_file), str(cert_file))
    key = pki.check_ca_pair(pki.load_private_key(store.read(key_file), str(key_file)), certificate)
    _install_ca(store, settings, key, certificate, say)
    say(f"imported site CA {certificate.subject.rfc4514_string()} valid until {_day(certificate)}")


def issue(store: ProvisionStore, kind: Kind, identity: str, days: int | None, renew: bool, say: Say) -> Path:
    """Key, certificate and the site CA in the device's folder; returns that folder."""
    settings = store.settings()
    inventory = store.inventory()
    _check_identity(inventory, kind, identity)
    current = inventory.active(kind, identity)
    if current is not None and not renew:
        raise ProvisionError(
            f"{kind} {identity} already has a certificate (serial {current.serial:x}, valid until "
            f"{current.not_after:%Y-%m-%d}); use --renew to replace it"
        )
    ca_key, ca_cert = _ca(store)
    validity = days or (settings.gateway_days if kind == "gateway" else settings.bridge_days)
    key, certificate = pki.issue(ca_key, ca_cert, identity, settings.site, validity, "client")
    folder = store.device_dir(kind, identity)
    write_secret(folder / f"{identity}.key", pki.key_pem(key))
    write_public(folder / f"{identity}.pem", pki.certificate_pem(certificate))
    write_public(folder / "ca.pem", pki.certificate_pem(ca_cert))
    if kind == "gateway" and store.signing_public.exists():
        write_public(folder / store.signing_public.name, store.read(store.signing_public))
    say(
        f"issued {kind} certificate CN={identity} serial {certificate.serial_number:x} "
        f"until {_day(certificate)}"
    )
    say(f"wrote {folder}/ ({identity}.pem, {identity}.key mode 0600, ca.pem); copy it to the {kind}")
    issued = [*inventory.issued, _entry(kind, identity, certificate)]
    if current is not None:
        issued = _revoke_entries(issued, kind, identity, keep=certificate.serial_number)
        say(f"the previous certificate (serial {current.serial:x}) is revoked")
    store.save_inventory(inventory.model_copy(update={"issued": issued}))
    _refresh_broker_side(store, say)
    return folder


def revoke(store: ProvisionStore, kind: Kind, identity: str, say: Say) -> None:
    inventory = store.inventory()
    current = inventory.active(kind, identity)
    if current is None:
        raise ProvisionError(f"{kind} {identity} has no certificate in force to revoke")
    issued = _revoke_entries(inventory.issued, kind, identity, keep=None)
    store.save_inventory(inventory.model_copy(update={"issued": issued}))
    say(f"revoked {kind} {identity} (serial {current.serial:x})")
    _refresh_broker_side(store, say)
    say("restart Mosquitto to load the new CRL and ACL: the revoked identity cannot connect after that")


def write_broker(
    store: ProvisionStore, hosts: tuple[str, ...], port: int, bind: str, install_dir: Path | None, say: Say
) -> Path:
    """Server certificate for ``hosts`` plus listener config, ACL, CA and CRL in ``broker/``."""
    if not hosts:
        raise ProvisionError("give at least one --host: the name or address clients connect to")
    settings = store.settings()
    ca_key, ca_cert = _ca(store)
    key, certificate = pki.issue(
        ca_key, ca_cert, hosts[0], settings.site, settings.broker_days, "server", hosts
    )
    folder = store.broker_dir
    write_secret(folder / "server.key", pki.key_pem(key))
    write_public(folder / "server.pem", pki.certificate_pem(certificate))
    write_public(folder / "ca.pem", pki.certificate_pem(ca_cert))
    inventory = store.inventory()
    issued = [e for e in inventory.issued if e.kind != "broker"] + [_entry("broker", hosts[0], certificate)]
    store.save_inventory(inventory.model_copy(update={"issued": issued}))
    say(f"issued broker certificate for {', '.join(hosts)} until {_day(certificate)}")
    files = listener_files(install_dir or folder.resolve())
    write_public(folder / "careedge-listener.conf", listener_config(files, port, bind).encode())
    say(
        f"wrote {folder / 'careedge-listener.conf'} "
        f"(listener {port} on {bind}, files under {files.ca.parent})"
    )
    _refresh_broker_side(store, say)
    return folder


def sign_bundle(store: ProvisionStore, gateway: str, config_text: str, say: Say) -> Path:
    """Sign ``config_text`` for ``gateway`` with the next version number; returns the bundle path."""
    settings = store.settings()
    inventory = store.inventory()
    try:
        config = parse_config(config_text, "config")
    except ConfigError as exc:
        raise ProvisionError("the config is not valid:\n" + "\n".join(exc.problems)) from exc
    if config.site.id != settings.site or config.gateway is None or config.gateway.id != gateway:
        raise ProvisionError(
            f"the config must be the config of {settings.site}/{gateway} (site.id, gateway.id)"
        )
    if inventory.active("gateway", gateway) is None:
        raise ProvisionError(f"gateway {gateway} has no certificate in force; issue one first")
    key = _signing_key(store)
    version = inventory.bundle_versions.get(gateway, 0) + 1
    body = bundle_body(settings.site, gateway, version, datetime.now(UTC), config_text)
    path = store.bundle_path(gateway, version)
    write_public(path, assemble_bundle(body, key.sign(body)))
    versions = {**inventory.bundle_versions, gateway: version}
    store.save_inventory(inventory.model_copy(update={"bundle_versions": versions}))
    say(f"signed config version {version} for {settings.site}/{gateway}: {path}")
    return path


def show(store: ProvisionStore) -> list[str]:
    """What is provisioned, one line each, with days to expiry."""
    settings = store.settings()
    now = datetime.now(UTC)
    ca_cert = pki.load_certificate(store.read(store.ca_cert), str(store.ca_cert))
    lines = [
        f"site {settings.site}  ({store.root})",
        f"CA       {ca_cert.subject.rfc4514_string()}  until {_day(ca_cert)} "
        f"({(ca_cert.not_valid_after_utc - now).days} days)  sha256 {pki.fingerprint(ca_cert)}",
    ]
    if store.crl.exists():
        crl = x509.load_pem_x509_crl(store.read(store.crl))
        next_update = crl.next_update_utc
        lines.append(
            f"CRL      {len(crl)} revoked, next update {next_update:%Y-%m-%d}"
            if next_update
            else f"CRL      {len(crl)} revoked"
        )
    inventory = store.inventory()
    for entry in inventory.issued:
        left = (entry.not_after - now).days
        state = f"REVOKED {entry.revoked_at:%Y-%m-%d}" if entry.revoked_at else f"{left} days left"
        lines.append(
            f"{entry.kind:<8} {entry.id:<20} serial {entry.serial:x}  "
            f"until {entry.not_after:%Y-%m-%d}  {state}"
        )
    for gateway, version in sorted(inventory.bundle_versions.items()):
        lines.append(f"bundle   {gateway:<20} latest version {version}")
    lines.append(
        "signing  " + ("site-signing.key present" if store.signing_key.exists() else "no signing key")
    )
    return lines


def _refuse_existing_ca(store: ProvisionStore) -> None:
    if store.has_ca():
        raise ProvisionError(
            f"{store.root} already holds a site CA; use another --dir, or see docs/security.md to rotate"
        )


def _install_ca(
    store: ProvisionStore,
    settings: ProvisionSettings,
    key: EllipticCurvePrivateKey,
    certificate: x509.Certificate,
    say: Say,
) -> None:
    store.save_settings(settings)
    write_secret(store.ca_key, pki.key_pem(key))
    write_public(store.ca_cert, pki.certificate_pem(certificate))
    say(f"wrote {store.ca_cert} and {store.ca_key} (mode 0600)")
    signing = Ed25519PrivateKey.generate()
    write_secret(
        store.signing_key,
        signing.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    write_public(
        store.signing_public,
        signing.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    say(f"created config signing key {store.signing_public} (private half mode 0600)")
    _write_crl(store, say)


def _ca(store: ProvisionStore) -> tuple[EllipticCurvePrivateKey, x509.Certificate]:
    certificate = pki.load_certificate(store.read(store.ca_cert), str(store.ca_cert))
    key = pki.check_ca_pair(pki.load_private_key(store.read(store.ca_key), str(store.ca_key)), certificate)
    return key, certificate


def _signing_key(store: ProvisionStore) -> Ed25519PrivateKey:
    key = pki.load_private_key(store.read(store.signing_key), str(store.signing_key))
    if not isinstance(key, Ed25519PrivateKey):
        raise ProvisionError(f"{store.signing_key} is not an Ed25519 private key")
    return key


def _check_identity(inventory: Inventory, kind: Kind, identity: str) -> None:
    if kind == "gateway" and identity in RESERVED_IDS:
        raise ProvisionError(f"{identity!r} is a topic level of the site itself; choose another gateway ID")
    other: Kind = "bridge" if kind == "gateway" else "gateway"
    if inventory.active(other, identity) is not None:
        raise ProvisionError(
            f"{identity} is already a {other}; the broker knows clients by this name, so it must be unique"
        )


def _entry(kind: Kind, identity: str, certificate: x509.Certificate) -> Issued:
    return Issued(
        kind=kind, id=identity, serial=certificate.serial_number, not_after=certificate.not_valid_after_utc
    )


def _revoke_entries(issued: list[Issued], kind: Kind, identity: str, keep: int | None) -> list[Issued]:
    now = datetime.now(UTC)
    return [
        e.model_copy(update={"revoked_at": now})
        if e.kind == kind and e.id == identity and e.revoked_at is None and e.serial != keep
        else e
        for e in issued
    ]


def _write_crl(store: ProvisionStore, say: Say) -> None:
    key, certificate = _ca(store)
    crl = pki.build_crl(key, certificate, store.inventory().revoked(), store.settings().crl_days)
    write_public(store.crl, crl.public_bytes(serialization.Encoding.PEM))
    say(f"wrote {store.crl} ({len(crl)} revoked, next update {crl.next_update_utc:%Y-%m-%d})")


def _refresh_broker_side(store: ProvisionStore, say: Say) -> None:
    """CRL always; ACL and the broker's copy of the CRL once ``broker`` has been run."""
    _write_crl(store, say)
    if not (store.broker_dir / "careedge-listener.conf").exists():
        return
    inventory = store.inventory()
    write_public(store.broker_dir / "crl.pem", store.read(store.crl))
    acl = acl_file(store.settings().site, inventory.active_ids("gateway"), inventory.active_ids("bridge"))
    write_public(store.broker_dir / "acl", acl.encode())
    say(f"wrote {store.broker_dir / 'acl'} and {store.broker_dir / 'crl.pem'}")


def listener_files(directory: Path) -> ListenerFiles:
    return ListenerFiles(
        ca=directory / "ca.pem",
        cert=directory / "server.pem",
        key=directory / "server.key",
        crl=directory / "crl.pem",
        acl=directory / "acl",
    )


def _day(certificate: x509.Certificate) -> str:
    return f"{certificate.not_valid_after_utc:%Y-%m-%d}"
