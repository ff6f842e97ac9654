"""Config updates from the cloud (``cmd/config``): accept a signed config or keep the last good one.

An accepted bundle is written to the gateway's data directory, and the daemon runs it from its next
start on (``startup_config``); the running process is not reconfigured in place, because devices,
sessions and the broker link would all have to be rebuilt consistently. The ``cmd-ack`` says so
(``"applies": "restart"``).

Command payload: JSON ``{"command_id": ID, "bundle": <the bundle document>}``. Result, on
``cmd-ack/{command_id}``: ``{"v": 1, "command_id", "result": "accepted" | "rejected", "version",
"reason", "detail", "applies"}``.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from prometheus_client import Counter

from careedge_common import topics
from careedge_common.config import IDENTIFIER, SiteConfig
from careedge_common.files import write_atomically
from edge.commands import Reply
from edge.config_bundle import BundleRejected, SignedConfig, verify_bundle

log = logging.getLogger(__name__)

ACCEPTED_FILE = "accepted-config.bundle"
BUNDLE_MODE = 0o600
"""A config names the gateway's secret files and its broker; only the edge user reads it."""
COMMAND_ID = re.compile(IDENTIFIER)
"""A command ID becomes a topic level of its ``cmd-ack``: no wildcards, no slashes."""


class ConfigUpdates:
    """The gateway's config versions: the one it runs and the last good one it holds for restart."""

    def __init__(
        self,
        key: Ed25519PublicKey,
        site: str,
        gateway: str,
        data_dir: Path,
        running_version: int,
        results: Counter,
    ) -> None:
        """``running_version`` is the version of the bundle the daemon started from, 0 for a plain
        YAML file; ``results`` counts offers by ``result`` and ``reason`` labels."""
        self._key = key
        self._site = site
        self._gateway = gateway
        self._path = data_dir / ACCEPTED_FILE
        self._results = results
        self.running_version = running_version
        self.held: SignedConfig | None = None
        """The last accepted bundle when it is newer than the running config (applies at restart)."""

    def offer(self, data: bytes) -> SignedConfig:
        """Verify and validate a bundle; if it is newer than any config held, store it.

        Raises ``BundleRejected`` and leaves the held config as it was.
        """
        try:
            signed = verify_bundle(data, self._key, site=self._site, gateway=self._gateway)
            newest = max(self.running_version, self.held.version if self.held else 0)
            if signed.version <= newest:
                raise BundleRejected("stale", f"version {signed.version}, this gateway holds {newest}")
        except BundleRejected as exc:
            self._results.labels(result="rejected", reason=exc.reason).inc()
            log.warning("config bundle rejected (%s): %s", exc.reason, exc.detail)
            raise
        write_atomically(self._path, signed.bundle, BUNDLE_MODE)
        self.held = signed
        self._results.labels(result="accepted", reason="").inc()
        log.info("config version %d accepted; it applies at the next start", signed.version)
        return signed

    def handle_command(self, payload: bytes) -> Reply | None:
        """Answer one ``cmd/config`` message; None when it has no usable ``command_id`` to answer on."""
        try:
            document = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError):
            document = None
        command_id = document.get("command_id") if isinstance(document, dict) else None
        if not isinstance(command_id, str) or not COMMAND_ID.match(command_id):
            self._results.labels(result="rejected", reason="no_command_id").inc()
            log.warning("cmd/config message without a usable command_id ignored")
            return None
        assert isinstance(document, dict)
        result: dict[str, Any] = {"v": 1, "command_id": command_id}
        try:
            signed = self.offer(json.dumps(document.get("bundle")).encode())
        except BundleRejected as exc:
            result |= {"result": "rejected", "reason": exc.reason, "detail": exc.detail}
            result["version"] = self.held.version if self.held else self.running_version
        else:
            result |= {"result": "accepted", "version": signed.version, "applies": "restart"}
        topic = topics.cmd_ack(self._site, self._gateway, command_id)
        return Reply(topic, json.dumps(result, separators=(",", ":")).encode())

    def held_bundle(self) -> SignedConfig | None:
        """The stored bundle if it still verifies and is newer than the running config; a stored
        bundle that fails (edited on disk, key rotated) is reported and ignored."""
        try:
            data = self._path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            signed = verify_bundle(data, self._key, site=self._site, gateway=self._gateway)
        except BundleRejected as exc:
            self._results.labels(result="rejected", reason=exc.reason).inc()
            log.error("stored config bundle %s ignored (%s): %s", self._path, exc.reason, exc.detail)
            return None
        return signed if signed.version > self.running_version else None


def startup_config(updates: ConfigUpdates, started_with: SiteConfig) -> SiteConfig:
    """The config to run: the held bundle's when there is a newer good one, else the one started with."""
    held = updates.held_bundle()
    if held is None:
        return started_with
    updates.running_version = held.version
    return held.config
