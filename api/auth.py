"""API keys, roles and state scopes.

A key is `sl_` plus 43 random URL-safe characters, shown once when created; the store keeps
only its SHA-256. A key has one role and the states it may see (`*` for all states):

- `exchange`: upload and match records (uploads only for its states), read records,
  identities and the event feed of its states;
- `reviewer`: the near-match queue of its states and the identities involved;
- `admin`: merges and splits for its states, and keys no wider than its own;
- `auditor`: the audit log.

Other packages (the review page) authenticate with `authenticate(store, raw_key)` and check
with `Principal.require(...)` and `Principal.sees_any(...)`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from matcher.store import db
from matcher.store.models import ApiKey, utcnow

if TYPE_CHECKING:
    from matcher.store import IdentityStore

KEY_PREFIX = "sl_"
ALL_STATES = "*"
STATE_PATTERN = re.compile(r"^[A-Z]{2}$")
KEY_PATTERN = re.compile(r"^sl_[A-Za-z0-9_-]{43}$")

MISSING_KEY = "missing API key"
INVALID_KEY = "invalid API key"


class Role(StrEnum):
    """What a key may do."""

    EXCHANGE = "exchange"
    REVIEWER = "reviewer"
    ADMIN = "admin"
    AUDITOR = "auditor"


class Action(StrEnum):
    """Things a role may or may not do; the value reads well after "may not"."""

    UPLOAD_RECORDS = "upload records"
    MATCH_RECORDS = "match records"
    READ_RECORDS = "read records"
    READ_IDENTITIES = "read identities"
    READ_NEAR_MATCHES = "read near matches"
    DECIDE_NEAR_MATCHES = "decide near matches"
    READ_CHANGES = "read merges and splits"
    CHANGE_IDENTITIES = "initiate, validate or reject merges and splits"
    READ_EVENTS = "read the event feed"
    READ_COUNTS = "read child counts"
    MANAGE_KEYS = "manage API keys"
    READ_AUDIT = "read the audit log"


PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.UPLOAD_RECORDS: frozenset({Role.EXCHANGE}),
    Action.MATCH_RECORDS: frozenset({Role.EXCHANGE}),
    Action.READ_RECORDS: frozenset({Role.EXCHANGE, Role.REVIEWER, Role.ADMIN}),
    Action.READ_IDENTITIES: frozenset({Role.EXCHANGE, Role.REVIEWER, Role.ADMIN}),
    Action.READ_NEAR_MATCHES: frozenset({Role.REVIEWER, Role.ADMIN}),
    Action.DECIDE_NEAR_MATCHES: frozenset({Role.REVIEWER}),
    Action.READ_CHANGES: frozenset({Role.ADMIN}),
    Action.CHANGE_IDENTITIES: frozenset({Role.ADMIN}),
    Action.READ_EVENTS: frozenset({Role.EXCHANGE, Role.ADMIN}),
    Action.READ_COUNTS: frozenset(Role),
    Action.MANAGE_KEYS: frozenset({Role.ADMIN}),
    Action.READ_AUDIT: frozenset({Role.AUDITOR}),
}


class AuthError(Exception):
    """No usable key (HTTP 401); `detail` is stable."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class PermissionDenied(Exception):
    """The key may not do this (HTTP 403); `detail` is stable."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, role and states (`("*",)` for every state)."""

    key_id: int
    role: Role
    states: tuple[str, ...]

    @property
    def actor(self) -> str:
        """How this caller is named in the audit log, judgements and merges."""
        return f"key:{self.key_id}"

    @property
    def all_states(self) -> bool:
        """True for a key that sees every state."""
        return ALL_STATES in self.states

    def may(self, action: Action) -> bool:
        """Whether the role allows `action`."""
        return self.role in PERMISSIONS[action]

    def require(self, action: Action) -> None:
        """PermissionDenied unless the role allows `action`."""
        if not self.may(action):
            raise PermissionDenied(f"role '{self.role.value}' may not {action.value}")

    def sees_state(self, state: str | None) -> bool:
        """Whether the key covers this state."""
        return self.all_states or (state is not None and state.upper() in self.states)

    def sees_any(self, states: Iterable[str | None]) -> bool:
        """Whether the key covers at least one of these states."""
        return any(self.sees_state(s) for s in states)

    def covers(self, states: Iterable[str]) -> bool:
        """Whether the key covers every one of these states (`*` only by a `*` key)."""
        if self.all_states:
            return True
        return all(s != ALL_STATES and s in self.states for s in states)

    def scope(self) -> list[str] | None:
        """The states to filter by, or None for every state."""
        return None if self.all_states else list(self.states)


def parse_states(value: str | Iterable[str]) -> tuple[str, ...]:
    """`"TX,fl"` or `["TX", "FL"]` -> `("FL", "TX")`; `*` alone means every state.

    ValueError names the offending code.
    """
    parts = value.split(",") if isinstance(value, str) else list(value)
    cleaned = sorted({p.strip().upper() for p in parts if p.strip()})
    if not cleaned:
        raise ValueError("'states' must name at least one state (or '*' for all); got none")
    if ALL_STATES in cleaned:
        if len(cleaned) > 1:
            raise ValueError(f"'states' must be '*' alone or state codes; got {cleaned!r}")
        return (ALL_STATES,)
    bad = [p for p in cleaned if not STATE_PATTERN.fullmatch(p)]
    if bad:
        raise ValueError(f"'states' must be two-letter USPS codes; got {bad[0]!r}")
    return tuple(cleaned)


def hash_key(raw_key: str) -> str:
    """The stored form of a key."""
    return "sha256$" + hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def generate_key() -> str:
    """A new random key (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class KeyRecord:
    """A stored key, without its secret."""

    id: int
    role: Role
    states: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewKey:
    """A key just created: `key` is the only time the secret is seen."""

    record: KeyRecord
    key: str


def _record(row: ApiKey) -> KeyRecord:
    return KeyRecord(row.id, Role(row.role), tuple(row.states or ()), row.created_at,
                     row.revoked_at)


def authenticate(store: IdentityStore, raw_key: str | None) -> Principal:
    """The principal a raw key stands for; AuthError (`missing API key` / `invalid API key`)."""
    if raw_key is None or not raw_key.strip():
        raise AuthError(MISSING_KEY)
    raw_key = raw_key.strip()
    if not KEY_PATTERN.fullmatch(raw_key):
        raise AuthError(INVALID_KEY)
    with db.read_session(store.engine) as session:
        row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(raw_key)))
    if row is None or row.revoked_at is not None:
        raise AuthError(INVALID_KEY)
    try:
        role = Role(row.role)
    except ValueError:
        raise AuthError(INVALID_KEY) from None
    return Principal(key_id=row.id, role=role, states=tuple(row.states or ()))


def create_key(store: IdentityStore, role: Role | str, states: str | Iterable[str]) -> NewKey:
    """Store a new key's hash and return the key (shown once)."""
    role = Role(role)
    scope = parse_states(states)
    raw = generate_key()
    with db.short_write_session(store.engine) as session:
        row = ApiKey(key_hash=hash_key(raw), role=role.value, states=list(scope),
                     created_at=utcnow())
        session.add(row)
        session.flush()
        record = _record(row)
    return NewKey(record=record, key=raw)


def list_keys(store: IdentityStore, *, include_revoked: bool = False) -> list[KeyRecord]:
    """Stored keys (without secrets), oldest first."""
    stmt = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    with db.read_session(store.engine) as session:
        return [_record(r) for r in session.scalars(stmt)]


def get_key(store: IdentityStore, key_id: int) -> KeyRecord | None:
    """One stored key, or None."""
    with db.read_session(store.engine) as session:
        row = session.get(ApiKey, key_id)
        return _record(row) if row is not None else None


def revoke_key(store: IdentityStore, key_id: int) -> KeyRecord | None:
    """Revoke a key (idempotent); None when there is no such key."""
    with db.short_write_session(store.engine) as session:
        session.execute(update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
                        .values(revoked_at=utcnow()))
        row = session.get(ApiKey, key_id)
        return _record(row) if row is not None else None
