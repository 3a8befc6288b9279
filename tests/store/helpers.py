"""Small helpers shared by the store tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from matcher.pipeline import Linker, LinkResult
from matcher.settings import Settings
from matcher.store import IdentityStore


@dataclass(frozen=True)
class BatchRun:
    """Records and what batch `link` made of them: what a store is held to."""

    settings: Settings
    records: pl.DataFrame
    linker: Linker
    result: LinkResult

    @classmethod
    def of(cls, settings: Settings, records: pl.DataFrame) -> BatchRun:
        linker = Linker(settings)
        return cls(settings, records, linker, linker.link(records))

    @property
    def model(self) -> Any:
        """The model the batch run trained."""
        return self.linker.model


def partition(assignments: pl.DataFrame, id_column: str = "identity_id") -> set[frozenset[str]]:
    """The record partition of (record_id, identity) rows, ignoring the ID values."""
    groups = assignments.group_by(id_column).agg(pl.col("record_id"))
    return {frozenset(ids) for ids in groups["record_id"].to_list()}


def store_partition(store: IdentityStore) -> set[frozenset[str]]:
    """The store's current partition of records into identities."""
    return partition(store.identities.assignments())


def event_kinds(store: IdentityStore, since: int = 0) -> list[str]:
    """Kinds of the events after a cursor, in order."""
    return [e.kind for e in store.events.since(since, limit=100_000).events]


def assert_consistent(store: IdentityStore) -> None:
    """Invariants every committed store state keeps."""
    from sqlalchemy import func, select

    from matcher.store.models import Event, Identity, Record, StoreState

    with store.engine.connect() as conn:
        assert conn.scalar(select(func.count()).where(Record.identity_id.is_(None))) == 0
        inactive = conn.scalar(
            select(func.count()).select_from(Record)
            .join(Identity, Identity.identity_id == Record.identity_id)
            .where(Identity.status != "active"))
        assert inactive == 0, "records must belong to active identities"
        empty = conn.scalar(
            select(func.count()).select_from(Identity).where(
                Identity.status == "active",
                ~select(Record.record_id).where(Record.identity_id == Identity.identity_id)
                .exists()))
        assert empty == 0, "active identities must have records"
        seqs = list(conn.scalars(select(Event.seq).order_by(Event.seq)))
        assert seqs == list(range(1, len(seqs) + 1)), "event cursors must be contiguous"
        state = conn.execute(select(StoreState.event_seq, StoreState.change_seq)).one()
        assert state.event_seq == len(seqs)
        max_change = conn.scalar(select(func.coalesce(func.max(Record.change_seq), 0)))
        assert state.change_seq == max_change
