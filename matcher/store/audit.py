"""The audit log: every decision, merge, split, identity view and load, with actor and time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from matcher.store import db
from matcher.store.models import AuditEntry, utcnow

if TYPE_CHECKING:
    from matcher.store.store import IdentityStore


@dataclass(frozen=True)
class AuditView:
    """One audit log entry."""

    id: int
    at: datetime
    actor: str
    action: str
    target_kind: str | None
    target_id: str | None
    detail: dict[str, Any]


class AuditLog:
    """Append to and read the audit log."""

    def __init__(self, store: IdentityStore) -> None:
        self._store = store

    def record(self, actor: str, action: str, *, target_kind: str | None = None,
               target_id: str | None = None, **detail: Any) -> None:
        """Append one entry in its own short transaction (reads such as identity views)."""
        with db.short_write_session(self._store.engine) as session:
            session.execute(insert(AuditEntry), [{
                "at": utcnow(), "actor": actor, "action": action, "target_kind": target_kind,
                "target_id": target_id, "detail": detail,
            }])

    def entries(self, *, actor: str | None = None, action: str | None = None,
                target_id: str | None = None, since: datetime | None = None,
                limit: int = 1000) -> list[AuditView]:
        """Entries, oldest first, filtered by any of actor, action, target and time."""
        stmt = select(AuditEntry).order_by(AuditEntry.id).limit(limit)
        if actor is not None:
            stmt = stmt.where(AuditEntry.actor == actor)
        if action is not None:
            stmt = stmt.where(AuditEntry.action == action)
        if target_id is not None:
            stmt = stmt.where(AuditEntry.target_id == target_id)
        if since is not None:
            stmt = stmt.where(AuditEntry.at >= since)
        with db.read_session(self._store.engine) as session:
            return [AuditView(e.id, e.at, e.actor, e.action, e.target_kind, e.target_id,
                              dict(e.detail or {}))
                    for e in session.scalars(stmt)]
