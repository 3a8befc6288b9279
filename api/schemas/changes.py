"""Merges and splits under the two-person rule."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from api.schemas.common import IdentityId, Note, Public, RecordId, Strict


class ChangeKind(StrEnum):
    MERGE = "merge"
    SPLIT = "split"


class ChangeStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    AUTO_APPROVED = "auto_approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ChangeStatusFilter(StrEnum):
    """A status to list, or `all`."""

    PENDING = "pending"
    APPROVED = "approved"
    AUTO_APPROVED = "auto_approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    ALL = "all"


class MergeCreate(Strict):
    """Merge identities into one (the oldest ID survives) once a second admin validates."""

    identity_ids: list[IdentityId] = Field(min_length=2, max_length=50)
    note: Note | None = None


class SplitCreate(Strict):
    """Move `record_ids` out of `identity_id` into a new identity once validated."""

    identity_id: IdentityId
    record_ids: list[RecordId] = Field(min_length=1, max_length=1000)
    note: Note | None = None


class ChangeDecisionCreate(Strict):
    """Why the change is validated or rejected."""

    note: Note | None = None


class ChangePublic(Public):
    """A merge or split and where it stands."""

    id: int
    kind: ChangeKind
    status: ChangeStatus
    identity_ids: list[str]
    record_ids: list[str]
    note: str | None
    initiated_by: str
    initiated_at: datetime
    due_at: datetime = Field(description="Approved automatically after this if still pending.")
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    result: dict[str, Any]


class ChangesPublic(Public):
    data: list[ChangePublic]
    count: int
