"""Identities: the consolidated record with provenance, member records and lineage."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas.common import Public
from api.schemas.events import EventPublic
from api.schemas.records import RecordPublic


class ValueSeenPublic(Public):
    """Another value members gave for a field, with where it came from."""

    value: str
    state: str
    record_id: str
    date: datetime
    count: int


class ConsolidatedFieldPublic(Public):
    """The chosen value of a field and its provenance (state, record, date)."""

    value: str | None
    state: str | None
    record_id: str | None
    date: datetime | None
    others: list[ValueSeenPublic]


class LineagePublic(Public):
    """`identity_id` was `relation` (merged_into / split_from) `related_id`."""

    identity_id: str
    related_id: str
    relation: str
    event_seq: int | None
    created_at: datetime


class IdentityPublic(Public):
    """An identity: status, states, consolidated record, member records, lineage, history."""

    identity_id: str
    status: str = Field(examples=["active", "merged"])
    merged_into: str | None
    cause: str
    created_at: datetime
    updated_at: datetime
    states: list[str]
    record_ids: list[str]
    consolidated: dict[str, ConsolidatedFieldPublic]
    records: list[RecordPublic]
    lineage: list[LineagePublic]
    history: list[EventPublic]
