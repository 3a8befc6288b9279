"""Matching one record against the store without writing."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from api.schemas.common import GUARD_FLAG_DESCRIPTION, Public, RecordId, Strict
from api.schemas.records import RecordFields


class MatchRecord(RecordFields):
    """The record to score; `record_id` only matters when it names a stored record (it is then
    never compared with itself)."""

    record_id: RecordId | None = None


class MatchCreate(Strict):
    """Score `record` against the stored records."""

    record: MatchRecord
    limit: int = Field(5, ge=1, le=100, description="Most candidate identities to return.")


class Band(StrEnum):
    """Where a probability falls against the thresholds."""

    LINK = "link"
    REVIEW = "review"


class CandidatePublic(Public):
    """A candidate identity: the best-scoring of its records and why it scored so."""

    identity_id: str | None
    record_id: str = Field(description="The identity's record that scored best.")
    match_probability: float
    match_weight: float | None = Field(description="None when infinite.")
    band: Band
    possible_multiple_birth: bool = Field(description=GUARD_FLAG_DESCRIPTION)
    contributions: dict[str, float | None] = Field(
        description="Each comparison's contribution to the match weight (bits).")


class ThresholdsPublic(Public):
    upper: float
    lower: float


class MatchPublic(Public):
    """Candidates best first (at or above the lower threshold)."""

    data: list[CandidatePublic]
    count: int
    thresholds: ThresholdsPublic
