"""API tokens kept as SHA-256 hashes in a JSON file (mode 0600): a copied file gives no token away.

A token is 32 random bytes (URL-safe text), shown once when made, so an unsalted fast hash is
enough (nothing to brute-force, unlike a password). The file is re-read when it changes, so a
token made or removed while a daemon runs takes effect at its next request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import Protocol

from careedge_common.access.roles import NAME_PATTERN, Actor, as_role

TOKEN_BYTES = 32
FILE_MODE = 0o600


class TokenError(ValueError):
    """A token cannot be made: bad name or role, or a token file that is not ours to read."""


class TokenBook(Protocol):
    def actor(self, token: str) -> Actor | None:
        """The actor ``token`` belongs to, or None for an unknown token."""


class TokenBooks:
    """Several books as one: the site's tokens file and, on the edge, the pharmacists' tokens
    that ``careedge pharmacist add`` keeps in the edge database."""

    def __init__(self, *books: TokenBook) -> None:
        self._books = books

    def actor(self, token: str) -> Actor | None:
        found = [actor for book in self._books if (actor := book.actor(token)) is not None]
        return found[0] if found else None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenFile:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp: tuple[int, int] | None = None
        self._entries: list[tuple[bytes, Actor]] = []

    def create(self, name: str, role: str, now: datetime) -> str:
        """A new token for ``name`` in ``role``; returns the token itself, which is not kept."""
        if not re.fullmatch(NAME_PATTERN, name):
            raise TokenError(f"name {name!r}: 1-64 letters, digits or . _ @ - (a login, not a resident)")
        try:
            as_role(role)
        except ValueError as exc:
            raise TokenError(str(exc)) from None
        token = secrets.token_urlsafe(TOKEN_BYTES)
        documents = self._documents()
        created = now.isoformat()
        documents.append({"hash": token_hash(token), "name": name, "role": role, "created_at": created})
        temporary = self._path.with_name(self._path.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump({"tokens": documents}, file, indent=1)
        os.replace(temporary, self._path)
        return token

    def actor(self, token: str) -> Actor | None:
        """Compares against every stored hash in constant time, so timing tells nothing."""
        wanted = token_hash(token).encode()
        found: Actor | None = None
        for stored, actor in self._current():
            if hmac.compare_digest(stored, wanted):
                found = actor
        return found

    def _current(self) -> list[tuple[bytes, Actor]]:
        try:
            status = self._path.stat()
        except FileNotFoundError:
            return []
        stamp = (status.st_mtime_ns, status.st_size)
        if stamp != self._stamp:
            try:
                self._entries = [
                    (document["hash"].encode(), Actor(document["name"], as_role(document["role"])))
                    for document in self._documents()
                ]
            except (KeyError, TypeError, ValueError) as exc:
                raise TokenError(f"{self._path}: a token entry is not as made by careedge ({exc})") from None
            self._stamp = stamp
        return self._entries

    def _documents(self) -> list[dict[str, str]]:
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            documents: list[dict[str, str]] = json.loads(text)["tokens"]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise TokenError(f"{self._path}: not a CareEdge token file ({exc})") from None
        return documents
