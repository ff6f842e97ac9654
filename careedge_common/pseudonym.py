"""Keyed pseudonyms for resident identifiers.

HMAC-SHA256 with a per-site secret: the same resident always maps to the same subject within a site
(so trends and alerts follow the person), nobody without the secret can reverse or recompute it
from a known ID-card number, and two sites never share a subject for the same person.
"""

from __future__ import annotations

import hashlib
import hmac

SUBJECT_HEX_CHARS = 32
"""128 bits: collision-free for any realistic population, short enough for a TSDB tag."""
MIN_SECRET_BYTES = 16


class Pseudonymiser:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"pseudonym secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret

    def subject(self, identifier: str, authority: str | None = None) -> str:
        """Pseudonym of ``identifier`` as issued by ``authority`` (PID-3.4 in HL7, if any)."""
        normalised = identifier.strip().upper()
        if not normalised:
            raise ValueError("empty identifier")
        message = f"{(authority or '').strip().upper()}|{normalised}".encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).hexdigest()
        return "s-" + digest[:SUBJECT_HEX_CHARS]

    def __repr__(self) -> str:
        return "Pseudonymiser(<secret>)"
