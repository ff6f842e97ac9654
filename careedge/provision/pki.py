"""Certificates of one site: its CA, the certificates it signs, and its revocation list.

Keys are ECDSA P-256: Mosquitto's OpenSSL, paho's ``ssl`` module and small gateways all handle
them, and they are short. Every leaf certificate carries its identity (gateway, bridge or broker ID)
as the subject CN, because Mosquitto's ``use_identity_as_username`` makes the CN the username that
its ACL file speaks about, and the site as the OU, so a certificate says where it belongs.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Role = Literal["client", "server"]
CLOCK_SKEW = timedelta(minutes=5)
"""Certificates start this long before now, so a device whose clock runs behind accepts them."""


class PkiError(Exception):
    """A certificate or key is not what provisioning needs; the message says which and why."""


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, site: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CareEdge"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, site),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def create_ca(site: str, days: int) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed CA that may sign leaf certificates and CRLs, nothing else (path length 0)."""
    key = new_key()
    name = _name(f"CareEdge site CA {site}", site)
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def issue(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    common_name: str,
    site: str,
    days: int,
    role: Role,
    hosts: tuple[str, ...] = (),
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A new key and its certificate, never valid beyond the CA's own expiry.

    ``hosts`` (servers only) become subject alternative names, DNS names or IP addresses, which
    clients check the broker's address against.
    """
    key = new_key()
    now = datetime.now(UTC)
    not_after = min(now + timedelta(days=days), ca_cert.not_valid_after_utc)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if role == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, site))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def build_crl(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    revoked: dict[int, datetime],
    days: int,
) -> x509.CertificateRevocationList:
    """The CA's revocation list of ``revoked`` (serial -> when). A broker that checks CRLs refuses
    everyone once the list is past its next update, so ``days`` bounds how long it may go unrenewed."""
    now = datetime.now(UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - CLOCK_SKEW)
        .next_update(now + timedelta(days=days))
    )
    for serial, when in sorted(revoked.items()):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(ca_key, hashes.SHA256())


def check_ca_pair(key: object, certificate: x509.Certificate) -> ec.EllipticCurvePrivateKey:
    """An imported CA must be a CA, be in force, and match its key; returns the key typed."""
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound as exc:
        raise PkiError("the certificate has no basic constraints, so it is not a CA") from exc
    if not constraints.ca:
        raise PkiError("the certificate is not a CA certificate (basic constraints CA:FALSE)")
    if certificate.not_valid_after_utc <= datetime.now(UTC):
        raise PkiError(f"the CA certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d}")
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"the CA key is a {type(key).__name__}; provisioning signs with an EC key")
    if key.public_key().public_numbers() != certificate.public_key().public_numbers():  # type: ignore[union-attr]
        raise PkiError("the key does not belong to the certificate")
    return key


def certificate_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """Unencrypted PKCS#8: daemons read it unattended; the file mode (0600) protects it."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_certificate(data: bytes, what: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise PkiError(f"{what} is not a PEM certificate: {exc}") from exc


def load_private_key(data: bytes, what: str) -> object:
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise PkiError(f"{what} is not an unencrypted PEM private key: {exc}") from exc


def fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex(":")[:47]


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)
