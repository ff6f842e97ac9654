"""Bearer tokens of the staff who may use the edge's protected routes (pharmacists for refills).

Only the SHA-256 of each token is stored, in the edge database: a copied database gives no token
away. A token is shown once, when ``careedge pharmacist add`` makes it. Tokens are 32 random bytes,
so an unsalted fast hash is enough (nothing to brute-force, unlike a password).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from careedge_common.access.roles import Actor
from edge.audit import AuditEntry, AuditLog, pharmacist_actor
from edge.edge_db import Transaction, connect, to_text

SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_tokens (
    token_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""

Role = Literal["pharmacist"]
TOKEN_BYTES = 32
NAME_PATTERN = r"^[^\x00-\x1f]{1,64}$"


@dataclass(frozen=True, slots=True)
class StaffMember:
    name: str
    role: Role

    @property
    def actor(self) -> str:
        return pharmacist_actor(self.name)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class StaffTokens:
    def __init__(self, path: Path, audit: AuditLog) -> None:
        self._db = connect(path, SCHEMA)
        self._audit = audit

    def add(self, name: str, role: Role, now: datetime) -> str:
        """A new token for ``name``; returns the token itself, which is not kept."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        member = StaffMember(name, role)
        with Transaction(self._db):
            self._db.execute(
                "INSERT INTO staff_tokens (token_hash, name, role, created_at) VALUES (?, ?, ?, ?)",
                (token_hash(token), name, role, to_text(now)),
            )
            self._audit.record(AuditEntry("token_created", now, member.actor, reason=role), self._db)
        return token

    def member(self, token: str) -> StaffMember | None:
        row = self._db.execute(
            "SELECT name, role FROM staff_tokens WHERE token_hash = ?", (token_hash(token),)
        ).fetchone()
        return None if row is None else StaffMember(row[0], row[1])

    def actor(self, token: str) -> Actor | None:
        """As a ``careedge_common.access`` token book: pharmacists' tokens reach the edge's API."""
        member = self.member(token)
        return None if member is None else Actor(member.name, member.role)

    def close(self) -> None:
        self._db.close()
