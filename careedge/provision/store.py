"""The provisioning directory of one site: settings, CA, signing key, issued certificates, inventory.

Layout (everything a device needs sits in one folder to copy to it):

    provision.yaml                 site and validity periods (days), written by ``ca create``
    inventory.json                 every certificate issued, its expiry and revocation
    ca/ca.pem ca/ca.key ca/crl.pem the site CA and its revocation list
    signing/site-signing.key .pub  the Ed25519 key that signs config bundles
    gateways/ID/ bridges/ID/       ID.pem, ID.key, ca.pem (gateways also site-signing.pub)
    broker/                        Mosquitto's listener config, ACL file, server cert, CA, CRL
    bundles/ID/ID-vN.bundle        signed config bundles

Private keys are written with mode 0600 inside directories of mode 0700, atomically, so a reader
never sees half a key and no umask can widen them.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError

from careedge_common.config import Identifier, StrictModel
from careedge_common.files import write_atomically

Kind = Literal["gateway", "bridge", "broker"]
SECRET_MODE = 0o600
PUBLIC_MODE = 0o644


class ProvisionError(Exception):
    """Something a technician must fix; the message says what and where."""


class ProvisionSettings(StrictModel):
    site: Identifier
    ca_days: int = Field(default=3650, ge=1, le=36500)
    gateway_days: int = Field(default=825, ge=1, le=36500)
    bridge_days: int = Field(default=825, ge=1, le=36500)
    broker_days: int = Field(default=825, ge=1, le=36500)
    crl_days: int = Field(default=365, ge=1, le=3650)
    """The broker refuses every client once the CRL is past this; ``broker`` and ``revoke`` renew it."""


class Issued(StrictModel):
    kind: Kind
    id: str
    serial: int
    not_after: datetime
    revoked_at: datetime | None = None


class Inventory(StrictModel):
    issued: list[Issued] = Field(default_factory=list)
    bundle_versions: dict[str, int] = Field(default_factory=dict)

    def active(self, kind: Kind, identity: str) -> Issued | None:
        for entry in reversed(self.issued):
            if entry.kind == kind and entry.id == identity and entry.revoked_at is None:
                return entry
        return None

    def active_ids(self, kind: Kind) -> list[str]:
        return sorted({e.id for e in self.issued if e.kind == kind and self.active(kind, e.id) is not None})

    def revoked(self) -> dict[int, datetime]:
        return {e.serial: e.revoked_at for e in self.issued if e.revoked_at is not None}


class ProvisionStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.settings_path = root / "provision.yaml"
        self.inventory_path = root / "inventory.json"
        self.ca_cert = root / "ca" / "ca.pem"
        self.ca_key = root / "ca" / "ca.key"
        self.crl = root / "ca" / "crl.pem"
        self.signing_key = root / "signing" / "site-signing.key"
        self.signing_public = root / "signing" / "site-signing.pub"
        self.broker_dir = root / "broker"

    def device_dir(self, kind: Kind, identity: str) -> Path:
        return self.root / f"{kind}s" / identity

    def bundle_path(self, gateway: str, version: int) -> Path:
        return self.root / "bundles" / gateway / f"{gateway}-v{version}.bundle"

    def has_ca(self) -> bool:
        return self.ca_cert.exists() or self.ca_key.exists()

    def settings(self) -> ProvisionSettings:
        if not self.settings_path.exists():
            raise ProvisionError(
                f"{self.root} is not a provisioning directory (no provision.yaml); "
                "run `careedge provision ca create --site SITE` or `ca import` first"
            )
        try:
            return ProvisionSettings.model_validate(yaml.safe_load(self.settings_path.read_text("utf-8")))
        except (ValidationError, yaml.YAMLError) as exc:
            raise ProvisionError(f"{self.settings_path}: {exc}") from exc

    def save_settings(self, settings: ProvisionSettings) -> None:
        text = yaml.safe_dump(settings.model_dump(), sort_keys=False)
        write_public(self.settings_path, text.encode())

    def inventory(self) -> Inventory:
        if not self.inventory_path.exists():
            return Inventory()
        try:
            return Inventory.model_validate_json(self.inventory_path.read_bytes())
        except ValidationError as exc:
            raise ProvisionError(f"{self.inventory_path}: {exc}") from exc

    def save_inventory(self, inventory: Inventory) -> None:
        write_public(self.inventory_path, inventory.model_dump_json(indent=2).encode() + b"\n")

    def read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ProvisionError(f"cannot read {path}: {exc.strerror}") from exc


def write_secret(path: Path, data: bytes) -> None:
    write_atomically(path, data, SECRET_MODE)


def write_public(path: Path, data: bytes) -> None:
    write_atomically(path, data, PUBLIC_MODE)
