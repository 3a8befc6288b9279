"""What the API needs from the identity store that its public interface does not offer yet.

Each function is small and reads or writes the store's tables through its own session helpers
(`matcher.store.db`) and models. They are wishes for the store's interface (see the report in
issue 5); when the store grows them, these become one-line calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, insert, or_, select, update

from matcher.schema import CANONICAL_COLUMNS
from matcher.store import db
from matcher.store.context import chunked
from matcher.store.models import AuditEntry, NearMatch, Record, utcnow

if TYPE_CHECKING:
    from matcher.store import IdentityStore

OPEN_STATUSES: tuple[str, ...] = ("open", "unsure")
"""Near-match statuses a reviewer may still decide."""


@dataclass(frozen=True)
class StoredRecord:
    """One stored record: its canonical values plus identity and bookkeeping."""

    values: dict[str, str | None]
    identity_id: str | None
    version: int
    created_at: datetime
    updated_at: datetime


def get_record(store: IdentityStore, record_id: str) -> StoredRecord | None:
    """A stored record by id (wish: `store.records.get`)."""
    return get_records(store, [record_id]).get(record_id)


def get_records(store: IdentityStore, record_ids: Sequence[str]) -> dict[str, StoredRecord]:
    """Stored records by id; missing ids are left out."""
    out: dict[str, StoredRecord] = {}
    with db.read_session(store.engine) as session:
        for part in chunked(list(record_ids)):
            for row in session.scalars(select(Record).where(Record.record_id.in_(part))):
                out[row.record_id] = StoredRecord(
                    {c: getattr(row, c) for c in CANONICAL_COLUMNS}, row.identity_id,
                    row.version, row.created_at, row.updated_at)
    return out


def identity_sizes(store: IdentityStore, identity_ids: Iterable[str]) -> dict[str, int]:
    """How many records each identity has now."""
    wanted = sorted({i for i in identity_ids if i})
    out: dict[str, int] = {}
    with db.read_session(store.engine) as session:
        for part in chunked(wanted):
            for identity_id, count in session.execute(
                select(Record.identity_id, func.count()).where(Record.identity_id.in_(part))
                .group_by(Record.identity_id)
            ).tuples():
                if identity_id is not None:
                    out[identity_id] = int(count)
    return out


def open_near_matches(store: IdentityStore, record_ids: Sequence[str]) -> dict[str, list[int]]:
    """Open review items per record (either side), ids ascending."""
    out: dict[str, list[int]] = {}
    with db.read_session(store.engine) as session:
        for part in chunked(list(record_ids), 1000):
            rows = session.execute(
                select(NearMatch.id, NearMatch.record_id_l, NearMatch.record_id_r).where(
                    NearMatch.status == "open",
                    or_(NearMatch.record_id_l.in_(part), NearMatch.record_id_r.in_(part)))
            ).tuples().all()
            wanted = set(part)
            for item_id, left, right in rows:
                for rid in (left, right):
                    if rid in wanted:
                        out.setdefault(rid, []).append(item_id)
    return {k: sorted(set(v)) for k, v in out.items()}


def get_near_match(store: IdentityStore, near_match_id: int) -> NearMatch | None:
    """A review item row (with `updated_at`, which `NearMatchView` lacks)."""
    with db.read_session(store.engine) as session:
        return session.get(NearMatch, near_match_id)


def near_match_page(
    store: IdentityStore,
    *,
    states: Sequence[str] | None,
    status: str | None,
    possible_multiple_birth: bool | None,
    after_id: int,
    limit: int,
) -> tuple[list[NearMatch], int]:
    """Review items after an id (keyset pagination), oldest first, and the total matching.

    Wish: `store.reviews.queue(after_id=..., possible_multiple_birth=...)`.
    """
    conditions: list[Any] = []
    if status is not None:
        conditions.append(NearMatch.status == status)
    if states is not None:
        conditions.append(or_(NearMatch.state_l.in_(list(states)),
                              NearMatch.state_r.in_(list(states))))
    if possible_multiple_birth is not None:
        conditions.append(NearMatch.possible_multiple_birth.is_(possible_multiple_birth))
    where = and_(*conditions) if conditions else and_(True)
    with db.read_session(store.engine) as session:
        total = int(session.scalar(select(func.count()).select_from(NearMatch).where(where))
                    or 0)
        rows = list(session.scalars(select(NearMatch).where(where, NearMatch.id > after_id)
                                    .order_by(NearMatch.id).limit(limit)))
    return rows, total


def claim_near_match(store: IdentityStore, near_match_id: int, *, status: str,
                     updated_at: datetime) -> bool:
    """Compare-and-set: bump the item's `updated_at` only if it is still as the caller saw it.

    Run under the store's writer lock, so of two reviewers who saw the same version exactly
    one claims it. Wish: `store.reviews.judge(..., expected_version=...)`.
    """
    with store.write() as ctx:
        result = ctx.session.execute(
            update(NearMatch)
            .where(NearMatch.id == near_match_id, NearMatch.status == status,
                   NearMatch.updated_at == updated_at)
            .values(updated_at=ctx.now)
            .execution_options(synchronize_session=False))
        return bool(getattr(result, "rowcount", 0) == 1)


def write_audit(store: IdentityStore, rows: Sequence[dict[str, Any]]) -> None:
    """Append audit rows in one short transaction (wish: `store.audit.record_many`)."""
    if not rows:
        return
    with db.short_write_session(store.engine) as session:
        session.execute(insert(AuditEntry), [
            {"at": r.get("at") or utcnow(), "actor": r["actor"], "action": r["action"],
             "target_kind": r.get("target_kind"), "target_id": r.get("target_id"),
             "detail": r.get("detail") or {}} for r in rows])


def find_audit(store: IdentityStore, *, target_kind: str, target_id: str
               ) -> AuditEntry | None:
    """The newest audit row about a target (uses the target index)."""
    with db.read_session(store.engine) as session:
        return session.scalar(
            select(AuditEntry)
            .where(AuditEntry.target_kind == target_kind, AuditEntry.target_id == target_id)
            .order_by(AuditEntry.id.desc()).limit(1))


def audit_page(store: IdentityStore, *, after_id: int, actor: str | None, action: str | None,
               limit: int) -> list[AuditEntry]:
    """Audit rows after an id, oldest first (wish: `store.audit.entries(after_id=...)`)."""
    stmt = select(AuditEntry).where(AuditEntry.id > after_id).order_by(AuditEntry.id)
    if actor is not None:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    with db.read_session(store.engine) as session:
        return list(session.scalars(stmt.limit(limit)))


def ping(store: IdentityStore) -> None:
    """Raise if the database cannot be reached."""
    with db.read_session(store.engine) as session:
        session.execute(select(func.count()).select_from(NearMatch).where(NearMatch.id < 0))
