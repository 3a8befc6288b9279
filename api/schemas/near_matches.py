"""The near-match queue and reviewers' decisions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from api.schemas.common import GUARD_FLAG_DESCRIPTION, Note, Public, Strict
from api.schemas.records import RecordPublic


class NearMatchStatus(StrEnum):
    OPEN = "open"
    UNSURE = "unsure"
    RESOLVED = "resolved"
    OBSOLETE = "obsolete"


class NearMatchStatusFilter(StrEnum):
    """A status to list, or `all`."""

    OPEN = "open"
    UNSURE = "unsure"
    RESOLVED = "resolved"
    OBSOLETE = "obsolete"
    ALL = "all"


class Decision(StrEnum):
    """`match` is a must-link, `non_match` a cannot-link; `unsure` parks the item."""

    MATCH = "match"
    NON_MATCH = "non_match"
    UNSURE = "unsure"


class NearMatchPublic(Public):
    """A review item. `etag` is its version: send it back as `If-Match` with a decision."""

    id: int
    status: NearMatchStatus
    decision: Decision | None
    record_id_l: str
    record_id_r: str
    state_l: str
    state_r: str
    match_probability: float
    match_weight: float | None = Field(description="None when infinite.")
    possible_multiple_birth: bool = Field(description=GUARD_FLAG_DESCRIPTION)
    contributions: dict[str, float | None] = Field(
        description="Each comparison's contribution to the match weight (bits).")
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    etag: str


class NearMatchDetailPublic(NearMatchPublic):
    """A review item with both records side by side and their identities."""

    record_l: RecordPublic | None
    record_r: RecordPublic | None


class NearMatchesPublic(Public):
    """A page of review items (oldest first) and the cursor for the next page."""

    data: list[NearMatchPublic]
    count: int = Field(description="Items matching the filters, over all pages.")
    next_cursor: str | None


class DecisionCreate(Strict):
    """A reviewer's decision on a near match."""

    decision: Decision
    note: Note | None = None


class JudgementPublic(Public):
    """A recorded judgement (a fact automation never overrides)."""

    id: int
    record_id_l: str
    record_id_r: str
    decision: Decision
    source: str
    actor: str
    note: str | None
    active: bool
    near_match_id: int | None
    created_at: datetime


class DecisionPublic(Public):
    """The decided item as it is now, and the judgement recorded."""

    near_match: NearMatchPublic
    judgement: JudgementPublic
