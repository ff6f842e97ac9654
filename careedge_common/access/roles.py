"""The roles of people and devices that call the APIs, and the actor a token stands for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Role = Literal["resident_kiosk", "pharmacist", "nurse", "technician", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
ADMIN: Role = "admin"
NAME_PATTERN = r"^[A-Za-z0-9._@-]{1,64}$"
"""Token names are staff logins or device names: they are recorded as actors, so never a
resident's name, and they fit the alert transitions' actor field."""


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    role: Role

    @property
    def label(self) -> str:
        """How audit rows name this actor, e.g. ``nurse:li``."""
        return f"{self.role}:{self.name}"


def as_role(text: str) -> Role:
    """Raises ``ValueError`` for a text that names no role."""
    for role in ROLES:
        if role == text:
            return role
    raise ValueError(f"role {text!r}: one of {', '.join(ROLES)}")
