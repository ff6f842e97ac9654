"""Signed config bundles: the only form in which a gateway takes a config it did not start with.

A bundle is JSON ``{"format", "body", "signature"}``: ``body`` is base64 of the exact bytes that
were signed (a JSON object naming site, gateway, version, issue time and the config's YAML text),
``signature`` base64 of the site's Ed25519 signature over them. Signing raw bytes, not re-encoded
JSON, leaves nothing to canonicalise. Site and gateway are inside the signature, so a bundle for one
gateway cannot be replayed to another; the version only grows, so an old bundle cannot be replayed
to roll a gateway back. ``careedge provision bundle`` writes bundles; this module checks them.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from careedge_common.config import SiteConfig
from careedge_common.config_loader import ConfigError, parse_config

BUNDLE_FORMAT = "careedge-config-bundle/1"
MAX_BUNDLE_BYTES = 1_000_000
"""A site config is a few kilobytes; anything near this size is not one."""


class BundleRejected(Exception):
    """The bundle is not taken; ``reason`` is a short label for metrics and the ``cmd-ack``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class SigningKeyError(Exception):
    """The site's public signing key named by the config cannot be used."""


@dataclass(frozen=True, slots=True)
class SignedConfig:
    site: str
    gateway: str
    version: int
    issued_at: str
    config: SiteConfig
    bundle: bytes
    """The bundle exactly as received, so it can be stored and checked again at the next start."""


def bundle_body(site: str, gateway: str, version: int, issued_at: datetime, config_text: str) -> bytes:
    """The bytes the site key signs."""
    document = {
        "format": BUNDLE_FORMAT,
        "site": site,
        "gateway": gateway,
        "version": version,
        "issued_at": issued_at.isoformat(),
        "config": config_text,
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode()


def assemble_bundle(body: bytes, signature: bytes) -> bytes:
    document = {
        "format": BUNDLE_FORMAT,
        "body": base64.b64encode(body).decode(),
        "signature": base64.b64encode(signature).decode(),
    }
    return json.dumps(document, indent=2).encode() + b"\n"


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise SigningKeyError(f"cannot read the site signing key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 public key")
    return key


def verify_bundle(
    data: bytes, key: Ed25519PublicKey, *, site: str | None, gateway: str | None
) -> SignedConfig:
    """Check signature first, then target, then the config itself; raise ``BundleRejected``.

    ``site`` and ``gateway`` are who this gateway is; None only when a gateway starts from a
    bundle, which then says who it is. Nothing in an unverified body is parsed as a config, so a
    forged bundle exercises only the JSON and base64 decoders.
    """
    outer = _outer(data)
    signature = outer.get("signature")
    if not signature:
        raise BundleRejected("unsigned", "the bundle carries no signature")
    body = _base64(outer.get("body"), "body")
    try:
        key.verify(_base64(signature, "signature"), body)
    except InvalidSignature as exc:
        raise BundleRejected("bad_signature", "the signature does not verify with the site key") from exc
    fields = _json_object(body, "signed body")
    if fields.get("format") != BUNDLE_FORMAT:
        raise BundleRejected("malformed", f"signed body format {fields.get('format')!r}")
    target = (str(fields.get("site")), str(fields.get("gateway")))
    if (site or target[0], gateway or target[1]) != target:
        raise BundleRejected("wrong_target", f"signed for {target[0]}/{target[1]}, this is {site}/{gateway}")
    version = fields.get("version")
    config_text = fields.get("config")
    if not isinstance(version, int) or version < 1 or not isinstance(config_text, str):
        raise BundleRejected("malformed", "signed body needs an integer version >= 1 and config text")
    config = _valid_config(config_text, *target)
    return SignedConfig(target[0], target[1], version, str(fields.get("issued_at")), config, data)


def _outer(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleRejected("malformed", f"{len(data)} bytes, more than {MAX_BUNDLE_BYTES}")
    outer = _json_object(data, "bundle")
    if outer.get("format") != BUNDLE_FORMAT:
        raise BundleRejected("malformed", f"format {outer.get('format')!r}, expected {BUNDLE_FORMAT!r}")
    return outer


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleRejected("malformed", f"{what} is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise BundleRejected("malformed", f"{what} is not a JSON object")
    return document


def _base64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise BundleRejected("malformed", f"{what} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BundleRejected("malformed", f"{what} is not valid base64") from exc


def _valid_config(text: str, site: str, gateway: str) -> SiteConfig:
    try:
        config = parse_config(text, "bundle")
    except ConfigError as exc:
        raise BundleRejected("invalid_config", "; ".join(exc.problems)) from exc
    if config.site.id != site or config.gateway is None or config.gateway.id != gateway:
        raise BundleRejected("invalid_config", f"the config inside is not the config of {site}/{gateway}")
    return config
