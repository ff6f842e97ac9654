"""API tokens for tests: one per role in a fresh tokens file, and the header that carries one."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from careedge_common.access.roles import ROLES, Role
from careedge_common.access.tokens import TokenFile


def issue_tokens(path: Path) -> dict[Role, str]:
    """A token for each role, named after it (``nurse`` is the nurse's name too)."""
    book = TokenFile(path)
    return {role: book.create(role, role, datetime.now(UTC)) for role in ROLES}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
