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


def tokens_path(tmp_path: Path) -> Path:
    return tmp_path / "tokens.json"


def access_config(tmp_path: Path) -> dict[str, str]:
    """The ``api.access`` fragment of a test's site config: its own tokens file in ``tmp_path``."""
    return {"tokens_file": str(tokens_path(tmp_path))}


def new_token(tmp_path: Path, role: Role) -> str:
    """A new token in that file, named ``test-<role>``; a running API sees it at once."""
    return TokenFile(tokens_path(tmp_path)).create(f"test-{role}", role, datetime.now(UTC))


def role_headers(tmp_path: Path, role: Role = "admin") -> dict[str, str]:
    return bearer(new_token(tmp_path, role))
