"""Reading identities: members, lineage, history and the consolidated record.

The consolidated record is computed on every read from the member records; nothing is stored
over the states' data. Per field the chosen value is the most frequent one among the members
(compared case- and space-insensitively), ties going to the most recently received record; the
other values seen are listed with their provenance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import or_, select

from matcher.errors import NotFoundError
from matcher.schema import CANONICAL_COLUMNS
from matcher.store import db
from matcher.store.feed import EventView
from matcher.store.models import Event, EventState, Identity, IdentityLineage, Record
from matcher.store.records import CANONICAL_SCHEMA

if TYPE_CHECKING:
    from matcher.store.store import IdentityStore

CONSOLIDATED_FIELDS: tuple[str, ...] = tuple(
    c for c in CANONICAL_COLUMNS if c not in ("record_id", "state", "source_system")
)


@dataclass(frozen=True)
class IdentityView:
    """An identity: its status, its records and the states they come from."""

    identity_id: str
    status: str
    merged_into: str | None
    cause: str
    created_at: datetime
    updated_at: datetime
    record_ids: list[str]
    states: list[str]


@dataclass(frozen=True)
class LineageView:
    """`identity_id` was `relation` (merged_into / split_from) `related_id`."""

    identity_id: str
    related_id: str
    relation: str
    event_seq: int | None
    created_at: datetime


@dataclass(frozen=True)
class ValueSeen:
    """One value of a field with where it came from."""

    value: str
    state: str
    record_id: str
    date: datetime
    count: int = 1


@dataclass(frozen=True)
class ConsolidatedField:
    """The chosen value of a field, its provenance, and the other values seen."""

    value: str | None
    state: str | None
    record_id: str | None
    date: datetime | None
    others: list[ValueSeen] = field(default_factory=list)


@dataclass(frozen=True)
class ConsolidatedRecord:
    """Per field the chosen value with provenance; computed, never stored."""

    identity_id: str
    record_ids: list[str]
    fields: dict[str, ConsolidatedField]

    def values(self) -> dict[str, str | None]:
        """Just the chosen values."""
        return {name: f.value for name, f in self.fields.items()}


def _key(value: str) -> str:
    return " ".join(value.casefold().split())


def consolidate(identity_id: str, members: list[dict[str, Any]],
                extra_fields: Sequence[str] = ()) -> ConsolidatedRecord:
    """Consolidate member records (dicts with canonical columns, the `extra_fields` they
    have and `updated_at`); the extra fields come after the canonical ones."""
    fields: dict[str, ConsolidatedField] = {}
    for name in (*CONSOLIDATED_FIELDS, *extra_fields):
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for rec in members:
            value = rec.get(name)
            if value is not None and str(value).strip():
                groups[_key(str(value))].append(rec)
        if not groups:
            fields[name] = ConsolidatedField(None, None, None, None)
            continue
        ranked = []
        for recs in groups.values():
            newest = max(recs, key=lambda r: (r["updated_at"], r["record_id"]))
            ranked.append((len(recs), newest["updated_at"], newest["record_id"], newest, recs))
        ranked.sort(key=lambda t: (-t[0], -t[1].timestamp(), t[2]))
        _, _, _, chosen, _ = ranked[0]
        others = [ValueSeen(str(newest[name]), newest["state"], newest["record_id"],
                            newest["updated_at"], count)
                  for count, _, _, newest, _ in ranked[1:]]
        fields[name] = ConsolidatedField(str(chosen[name]), chosen["state"],
                                         chosen["record_id"], chosen["updated_at"], others)
    return ConsolidatedRecord(identity_id, sorted(r["record_id"] for r in members), fields)


class Identities:
    """Look up identities and what they are made of."""

    def __init__(self, store: IdentityStore) -> None:
        self._store = store

    def get(self, identity_id: str, *, actor: str | None = None) -> IdentityView:
        """An identity (merged ones too: follow `merged_into`); logs a view when `actor` given."""
        with db.read_session(self._store.engine) as session:
            ident = session.scalar(select(Identity).where(Identity.identity_id == identity_id))
            if ident is None:
                raise NotFoundError(f"'identity_id' must name an identity; got {identity_id!r}")
            rows = session.execute(
                select(Record.record_id, Record.state)
                .where(Record.identity_id == identity_id).order_by(Record.record_id)
            ).all()
        if actor is not None:
            self._store.audit.record(actor, "identity_viewed", target_kind="identity",
                                     target_id=identity_id)
        return IdentityView(ident.identity_id, ident.status, ident.merged_into, ident.cause,
                            ident.created_at, ident.updated_at, [r[0] for r in rows],
                            sorted({r[1] for r in rows}))

    def resolve(self, identity_id: str) -> str:
        """The active identity an ID stands for now (following merges)."""
        seen: set[str] = set()
        current = identity_id
        with db.read_session(self._store.engine) as session:
            while True:
                ident = session.scalar(select(Identity).where(Identity.identity_id == current))
                if ident is None:
                    raise NotFoundError(f"'identity_id' must name an identity; got {current!r}")
                if ident.merged_into is None or current in seen:
                    return current
                seen.add(current)
                current = ident.merged_into

    def of_record(self, record_id: str) -> str:
        """The identity a record belongs to."""
        with db.read_session(self._store.engine) as session:
            ident = session.scalar(select(Record.identity_id).where(Record.record_id == record_id))
        if ident is None:
            raise NotFoundError(f"'record_id' must name a stored record; got {record_id!r}")
        return ident

    def members(self, identity_id: str) -> pl.DataFrame:
        """The member records (canonical columns) of an identity."""
        with db.read_session(self._store.engine) as session:
            rows = session.execute(
                select(*[getattr(Record, c) for c in CANONICAL_COLUMNS])
                .where(Record.identity_id == identity_id).order_by(Record.record_id)
            ).all()
        return pl.DataFrame([tuple(r) for r in rows], schema=CANONICAL_SCHEMA, orient="row")

    def assignments(self) -> pl.DataFrame:
        """Every record with its identity (record_id, identity_id)."""
        with db.read_session(self._store.engine) as session:
            rows = session.execute(
                select(Record.record_id, Record.identity_id).order_by(Record.record_id)
            ).all()
        return pl.DataFrame([tuple(r) for r in rows], orient="row",
                            schema={"record_id": pl.String, "identity_id": pl.String})

    def lineage(self, identity_id: str) -> list[LineageView]:
        """Lineage rows where the identity is either side, oldest first."""
        with db.read_session(self._store.engine) as session:
            rows = session.scalars(
                select(IdentityLineage).where(or_(
                    IdentityLineage.identity_id == identity_id,
                    IdentityLineage.related_id == identity_id,
                )).order_by(IdentityLineage.id)
            ).all()
        return [LineageView(r.identity_id, r.related_id, r.relation, r.event_seq, r.created_at)
                for r in rows]

    def history(self, identity_id: str, *, limit: int = 1000) -> list[EventView]:
        """Events about this identity, oldest first."""
        with db.read_session(self._store.engine) as session:
            events = session.scalars(
                select(Event).where(Event.identity_id == identity_id)
                .order_by(Event.seq).limit(limit)
            ).all()
            routes: dict[int, list[str]] = defaultdict(list)
            if events:
                for seq, state in session.execute(
                    select(EventState.seq, EventState.state)
                    .where(EventState.seq.in_([e.seq for e in events]))
                ):
                    routes[seq].append(state)
        return [EventView(e.seq, e.kind, e.identity_id, e.record_id, dict(e.payload or {}),
                          e.created_at, tuple(sorted(routes[e.seq]))) for e in events]

    def consolidated(self, identity_id: str, *, actor: str | None = None) -> ConsolidatedRecord:
        """The consolidated record; logs an identity view when `actor` is given."""
        with db.read_session(self._store.engine) as session:
            exists = session.scalar(
                select(Identity.identity_id).where(Identity.identity_id == identity_id))
            if exists is None:
                raise NotFoundError(f"'identity_id' must name an identity; got {identity_id!r}")
            recs = session.scalars(select(Record).where(Record.identity_id == identity_id)).all()
            members = [{**(r.extra_fields or {}), **{c: getattr(r, c) for c in CANONICAL_COLUMNS},
                        "updated_at": r.updated_at} for r in recs]
        if actor is not None:
            self._store.audit.record(actor, "identity_viewed", target_kind="identity",
                                     target_id=identity_id, view="consolidated")
        return consolidate(identity_id, members, self._store.extra_fields)
