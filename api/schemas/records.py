"""Records: the canonical record in (DESIGN §2), per-row upload results and the stored record."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from api.schemas.common import Public, RecordId, Strict, Text
from api.settings import HARD_MAX_BATCH


class RecordFields(Strict):
    """The canonical columns other than `record_id`; every one optional here (the preset's
    required fields and per-field lengths are checked per row, so one bad row never sinks a
    batch)."""

    state: Text | None = Field(None, description="Submitting state, USPS code.",
                               examples=["TX"])
    source_system: Text | None = None
    local_student_id: Text | None = None
    first_name: Text | None = None
    middle_name: Text | None = None
    last_name_1: Text | None = Field(None, description="Paternal surname.")
    last_name_2: Text | None = Field(None, description="Maternal surname.")
    suffix: Text | None = None
    sex: Text | None = None
    birth_date: Text | None = Field(None, description="YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY.")
    multiple_birth_flag: Text | None = None
    birth_city: Text | None = None
    birth_state: Text | None = None
    birth_country: Text | None = None
    parent1_first_name: Text | None = None
    parent1_last_name: Text | None = None
    parent2_first_name: Text | None = None
    parent2_last_name: Text | None = None
    enrollment_date: Text | None = None
    qualifying_arrival_date: Text | None = None
    grade: Text | None = None


class RecordCreate(RecordFields):
    """One state's record about one child; re-sending a `record_id` is an update."""

    record_id: RecordId = Field(description="The submitter's key for this record.",
                                examples=["TX-000123"])


class RecordsCreate(Strict):
    """A batch of records to insert or update."""

    records: list[RecordCreate] = Field(min_length=1, max_length=HARD_MAX_BATCH)


class Outcome(StrEnum):
    """What happened to one uploaded row."""

    LINKED = "linked"
    """Belongs to an identity with other records."""
    NEW_IDENTITY = "new_identity"
    """The only record of its identity, with nothing to review."""
    NEAR_MATCH_QUEUED = "near_match_queued"
    """The only record of its identity, with a near match waiting for a reviewer."""
    REJECTED = "rejected"
    """Not stored: see `errors`."""


class Change(StrEnum):
    """Whether the row changed the store."""

    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class FieldErrorPublic(Public):
    """Why a row was rejected: the field and a message naming what was expected."""

    field: str
    reason: str


class RecordResultPublic(Public):
    """The result of one row of a batch (rows in request order)."""

    row: int = Field(description="1-based position in the request.")
    record_id: str
    outcome: Outcome
    change: Change | None = Field(None, description="None for rejected rows.")
    identity_id: str | None = None
    near_match_ids: list[int] = Field(default_factory=list,
                                      description="Open near matches involving this record.")
    errors: list[FieldErrorPublic] = Field(default_factory=list)


class UploadSummaryPublic(Public):
    """Counts over the batch."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    linked: int = 0
    new_identity: int = 0
    near_match_queued: int = 0


class RecordResultsPublic(Public):
    """Per-row results of an upload."""

    data: list[RecordResultPublic]
    count: int
    summary: UploadSummaryPublic


class RecordPublic(Public):
    """A stored record: the values the state sent, its identity and bookkeeping."""

    record_id: str
    state: str | None = None
    source_system: str | None = None
    local_student_id: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name_1: str | None = None
    last_name_2: str | None = None
    suffix: str | None = None
    sex: str | None = None
    birth_date: str | None = None
    multiple_birth_flag: str | None = None
    birth_city: str | None = None
    birth_state: str | None = None
    birth_country: str | None = None
    parent1_first_name: str | None = None
    parent1_last_name: str | None = None
    parent2_first_name: str | None = None
    parent2_last_name: str | None = None
    enrollment_date: str | None = None
    qualifying_arrival_date: str | None = None
    grade: str | None = None
    identity_id: str | None = None
    version: int = Field(description="1 when first received; +1 on every changed re-send.")
    created_at: datetime
    updated_at: datetime
