"""Config of signed config bundles: the key a gateway trusts for its own configuration.

Kept apart from ``careedge_common.config`` because it belongs to provisioning: the public key is
installed by the technician with the gateway's certificate, never delivered inside a bundle.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict


class ConfigSigning(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    public_key_file: Path
    """The site's Ed25519 signing key (public half, PEM) that ``careedge provision ca create`` wrote.
    When set, the gateway accepts a new config on ``cmd/config`` only if this key signed it."""
