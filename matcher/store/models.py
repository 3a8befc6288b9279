"""SQLAlchemy 2 ORM models: the identity store's tables.

The Alembic migrations in `matcher.store.migrations` create exactly these tables; a test checks
that autogenerate finds no difference. Change both together.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from matcher.schema import CANONICAL_COLUMNS, MAX_LENGTHS

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit on PostgreSQL; INTEGER on SQLite so that it aliases the rowid (autoincrement)."""

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both engines (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, UTC, timezone-aware."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints stably."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class StoreState(Base):
    """One row (id=1): the counters that writers advance under a row lock.

    `event_seq` is the last event cursor handed out, `change_seq` the last record change
    sequence (the in-memory index catches up from it). Every write transaction locks this row
    first, so writers are serialised and events become visible in cursor order.
    """

    __tablename__ = "store_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class StoreMeta(Base):
    """Key/value facts about the store: the settings and the match model it was built with."""

    __tablename__ = "store_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Identity(Base):
    """A child: a persistent 12-digit identity ID and its status.

    `pk` orders identities by creation (the oldest survives a merge). A merged identity keeps
    its row with status "merged" and `merged_into` pointing at the survivor.
    """

    __tablename__ = "identities"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    identity_id: Mapped[str] = mapped_column(String(12), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    cause: Mapped[str] = mapped_column(String(32))
    merged_into: Mapped[str | None] = mapped_column(String(12), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


def _canonical_column(name: str) -> Any:
    length = MAX_LENGTHS.get(name)
    return mapped_column(String(length) if length else Text, nullable=True)


class Record(Base):
    """One state's record about one child, exactly as the state sent it (canonical columns)."""

    __tablename__ = "records"

    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(2), index=True)
    source_system: Mapped[str | None] = _canonical_column("source_system")
    local_student_id: Mapped[str | None] = _canonical_column("local_student_id")
    first_name: Mapped[str | None] = _canonical_column("first_name")
    middle_name: Mapped[str | None] = _canonical_column("middle_name")
    last_name_1: Mapped[str | None] = _canonical_column("last_name_1")
    last_name_2: Mapped[str | None] = _canonical_column("last_name_2")
    suffix: Mapped[str | None] = _canonical_column("suffix")
    sex: Mapped[str | None] = _canonical_column("sex")
    birth_date: Mapped[str | None] = _canonical_column("birth_date")
    multiple_birth_flag: Mapped[str | None] = _canonical_column("multiple_birth_flag")
    birth_city: Mapped[str | None] = _canonical_column("birth_city")
    birth_state: Mapped[str | None] = _canonical_column("birth_state")
    birth_country: Mapped[str | None] = _canonical_column("birth_country")
    parent1_first_name: Mapped[str | None] = _canonical_column("parent1_first_name")
    parent1_last_name: Mapped[str | None] = _canonical_column("parent1_last_name")
    parent2_first_name: Mapped[str | None] = _canonical_column("parent2_first_name")
    parent2_last_name: Mapped[str | None] = _canonical_column("parent2_last_name")
    enrollment_date: Mapped[str | None] = _canonical_column("enrollment_date")
    qualifying_arrival_date: Mapped[str | None] = _canonical_column("qualifying_arrival_date")
    grade: Mapped[str | None] = _canonical_column("grade")

    extra_fields: Mapped[dict[str, str] | None] = mapped_column(JSONType, default=None)
    """The store's preset's extra evidence fields as sent (`Settings.extra_fields`: an SSN,
    an address, a second birth date), those present only; null when none is."""

    identity_id: Mapped[str | None] = mapped_column(
        String(12), ForeignKey("identities.identity_id"), index=True
    )
    """Never NULL once a transaction commits (a new record gets its identity in the same one)."""
    content_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    change_seq: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


RECORD_DATA_COLUMNS: tuple[str, ...] = tuple(CANONICAL_COLUMNS)
"""The canonical columns as stored on `records` (same names)."""


class Link(Base):
    """A scored pair: the evidence re-clustering uses. Pairs at or above the lower threshold,
    and inside linked components the pairs below it (evidence against a component).

    `record_id_l < record_id_r` always. Pairs are rescored when either record changes.
    """

    __tablename__ = "links"

    record_id_l: Mapped[str] = mapped_column(
        String(64), ForeignKey("records.record_id"), primary_key=True
    )
    record_id_r: Mapped[str] = mapped_column(
        String(64), ForeignKey("records.record_id"), primary_key=True, index=True
    )
    match_probability: Mapped[float] = mapped_column(Float)
    match_weight: Mapped[float] = mapped_column(Float)
    possible_multiple_birth: Mapped[bool] = mapped_column(Boolean, default=False)
    same_name: Mapped[bool | None] = mapped_column(Boolean, default=None)
    """The given names are the same, letter for letter or misspelt (`Linker.same_name`;
    re-clustering links these first); null: unknown (a pair stored before migration 0002, or
    a backend that does not say), read as False."""
    identifier_agrees: Mapped[bool | None] = mapped_column(Boolean, default=None)
    """An identifier comparison agrees (the state's student id): a strong such pair joins
    what rebuilding a conflicted component left apart; null: unknown, read as False."""
    multiple_birth_by_names: Mapped[bool | None] = mapped_column(Boolean, default=None)
    """A typo can explain the twin flag (`clustering.TWIN_BY_NAMES`): a rebuild lets more strong
    unflagged pairs between two groups outvote it; null: unknown (a pair stored before
    migration 0003), read as False: the flag holds."""
    contributions: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    """Per-comparison match-weight contributions (`mw_*`); only kept at or above the lower
    threshold, where a reviewer may need them."""


class NearMatch(Base):
    """A review item: a pair between the thresholds whose records sit in different identities.

    status: "open" (in the queue), "resolved" (a judgement decided it), "obsolete" (the pair no
    longer needs review: rescored, or linked through other evidence).
    """

    __tablename__ = "near_matches"
    __table_args__ = (UniqueConstraint("record_id_l", "record_id_r"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    record_id_l: Mapped[str] = mapped_column(String(64), ForeignKey("records.record_id"))
    record_id_r: Mapped[str] = mapped_column(
        String(64), ForeignKey("records.record_id"), index=True
    )
    state_l: Mapped[str] = mapped_column(String(2), index=True)
    state_r: Mapped[str] = mapped_column(String(2), index=True)
    match_probability: Mapped[float] = mapped_column(Float)
    match_weight: Mapped[float] = mapped_column(Float)
    possible_multiple_birth: Mapped[bool] = mapped_column(Boolean, default=False)
    contributions: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    decision: Mapped[str | None] = mapped_column(String(16), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(128), default=None)


class Judgement(Base):
    """A decision on a record pair: match (must-link), non_match (cannot-link) or unsure.

    `source` is "review" for a reviewer's decision, "merge"/"split" for the constraints an
    approved merge or split leaves behind. Only the latest judgement on a pair is `active`.
    """

    __tablename__ = "judgements"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    record_id_l: Mapped[str] = mapped_column(
        String(64), ForeignKey("records.record_id"), index=True
    )
    record_id_r: Mapped[str] = mapped_column(
        String(64), ForeignKey("records.record_id"), index=True
    )
    decision: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default="review")
    actor: Mapped[str] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    near_match_id: Mapped[int | None] = mapped_column(
        ForeignKey("near_matches.id"), default=None
    )
    change_id: Mapped[int | None] = mapped_column(ForeignKey("pending_changes.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PendingChange(Base):
    """A merge or split awaiting a second administrator (two-person rule).

    status: pending, approved, auto_approved (escalation period passed), rejected, withdrawn.
    """

    __tablename__ = "pending_changes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    identity_ids: Mapped[list[str]] = mapped_column(JSONType)
    record_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    initiated_by: Mapped[str] = mapped_column(String(128))
    initiated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(128), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    decision_note: Mapped[str | None] = mapped_column(Text, default=None)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class ChangeLock(Base):
    """A record locked by a pending merge or split; the primary key makes the lock exclusive."""

    __tablename__ = "change_locks"

    record_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("records.record_id"), primary_key=True
    )
    change_id: Mapped[int] = mapped_column(ForeignKey("pending_changes.id"), index=True)


class IdentityLineage(Base):
    """Where identities came from: `identity_id` was merged_into / split_from `related_id`."""

    __tablename__ = "identity_lineage"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    identity_id: Mapped[str] = mapped_column(String(12), index=True)
    related_id: Mapped[str] = mapped_column(String(12), index=True)
    relation: Mapped[str] = mapped_column(String(16))
    event_seq: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """The append-only feed. `seq` is the cursor: assigned under the store_state lock."""

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    identity_id: Mapped[str | None] = mapped_column(String(12), index=True, default=None)
    record_id: Mapped[str | None] = mapped_column(String(64), default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventState(Base):
    """Which states an event is for (the feed is polled per state)."""

    __tablename__ = "event_states"

    state: Mapped[str] = mapped_column(String(2), primary_key=True)
    seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("events.seq"), primary_key=True, index=True
    )


class AuditEntry(Base):
    """Who did what when: decisions, merges, splits, identity views, loads."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_kind", "target_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(32))
    target_kind: Mapped[str | None] = mapped_column(String(32), default=None)
    target_id: Mapped[str | None] = mapped_column(String(64), default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class ApiKey(Base):
    """An API key (the API layer owns its use): only the hash is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    states: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
