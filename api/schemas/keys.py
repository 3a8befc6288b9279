"""API keys (admin only): created once-visible, listed and revoked without secrets."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.auth import Role
from api.schemas.common import Public, Strict


class KeyCreate(Strict):
    """A new key; `states` are two-letter codes, or `["*"]` for every state."""

    role: Role
    states: list[str] = Field(min_length=1, max_length=60, examples=[["TX", "FL"]])


class KeyPublic(Public):
    id: int
    role: Role
    states: list[str]
    created_at: datetime
    revoked_at: datetime | None


class KeyCreatedPublic(KeyPublic):
    """The key itself is shown here once and never again."""

    key: str


class KeysPublic(Public):
    data: list[KeyPublic]
    count: int
