"""Bearer tokens of the staff who may use the edge's protected routes (pharmacists for refills).

Only the SHA-256 of each token is stored, in the edge database: a copied database gives no token
away. A token is shown once, when ``careedge pharmacist add`` makes it. Tokens are 32 random bytes,
so an unsalted fast hash is enough (nothing to brute-force, unlike a password).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from pathlib import Path

from careedge_common.access.roles import Actor, Role, as_role
from edge.audit import AuditEntry, AuditLog
from edge.edge_db import Transaction, connect, to_text

SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_tokens (
    token_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""

TOKEN_BYTES = 32
NAME_PATTERN = r"^[^\x00-\x1f]{1,64}$"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class StaffTokens:
    def __init__(self, path: Path, audit: AuditLog) -> None:
        self._db = connect(path, SCHEMA)
        self._audit = audit

    def add(self, name: str, role: Role, now: datetime) -> str:
        """A new token for ``name``; returns the token itself, which is not kept."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        member = Actor(name, role)
        with Transaction(self._db):
            self._db.execute(
                "INSERT INTO staff_tokens (token_hash, name, role, created_at) VALUES (?, ?, ?, ?)",
                (token_hash(token), name, role, to_text(now)),
            )
            self._audit.record(AuditEntry("token_created", now, member.label, reason=role), self._db)
        return token

    def actor(self, token: str) -> Actor | None:
        """As a ``careedge_common.access`` token book: pharmacists' tokens reach the edge's API."""
        row = self._db.execute(
            "SELECT name, role FROM staff_tokens WHERE token_hash = ?", (token_hash(token),)
        ).fetchone()
        return None if row is None else Actor(row[0], as_role(row[1]))

    def close(self) -> None:
        self._db.close()
